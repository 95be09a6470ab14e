#include "persistence/operator_notice.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun {

namespace {

json::value time_or_null(const std::optional<time_point>& t) {
  return t ? json::value(format_rfc3339(*t)) : json::value(nullptr);
}

json::value attempt_view(const std::optional<attempt_record>& a) {
  if (!a)
    return nullptr;
  json::object o{{"at", format_rfc3339(a->at)}};
  if (a->status_code)
    o["status_code"] = *a->status_code;
  if (a->error)
    o["error"] = *a->error;
  return o;
}

std::optional<notice_type> parse_type(std::string_view name) {
  for (auto t : {notice_type::failing, notice_type::disabled, notice_type::recovered})
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

} // namespace

operator_notice make_notice(const owed_notice& owed, std::string url, std::uint64_t seq,
                            std::string id) {
  json::object data{{"url", url}, {"failing_since", time_or_null(owed.failing_since)}};
  switch (owed.type) {
  case notice_type::failing:
    data["last_attempt"] = attempt_view(owed.last_attempt);
    break;
  case notice_type::disabled:
    data["disabled_at"] = format_rfc3339(owed.at);
    data["failed_events"] = owed.failed_events;
    break;
  case notice_type::recovered:
    data["recovered_at"] = format_rfc3339(owed.at);
    break;
  }
  operator_notice n;
  n.seq = seq;
  n.id = std::move(id);
  n.type = owed.type;
  n.created_at = owed.at;
  n.url = std::move(url);
  n.data_json = json::serialize(data);
  n.due = owed.at;
  return n;
}

std::string encode(const operator_notice& n) {
  return json::serialize(json::object{{"seq", n.seq},
                                      {"id", n.id},
                                      {"type", to_string(n.type)},
                                      {"created_at", to_unix_ms(n.created_at)},
                                      {"url", n.url},
                                      {"data", n.data_json},
                                      {"attempts", n.attempts},
                                      {"due", to_unix_ms(n.due)}});
}

std::optional<operator_notice> decode_notice(std::string_view text) {
  try {
    auto o = json::parse(text).as_object();
    auto type = parse_type(o.at("type").as_string());
    if (!type)
      return std::nullopt;
    operator_notice n;
    n.seq = o.at("seq").to_number<std::uint64_t>();
    n.id = json::value_to<std::string>(o.at("id"));
    n.type = *type;
    n.created_at = from_unix_ms(o.at("created_at").to_number<std::int64_t>());
    n.url = json::value_to<std::string>(o.at("url"));
    n.data_json = json::value_to<std::string>(o.at("data"));
    n.attempts = o.at("attempts").to_number<int>();
    n.due = from_unix_ms(o.at("due").to_number<std::int64_t>());
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace rundun

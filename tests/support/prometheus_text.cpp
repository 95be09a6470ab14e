#include "tests/support/prometheus_text.hpp"

#include <cmath>
#include <cstdlib>
#include <set>

namespace rundun::test {

namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

bool valid_metric_name(std::string_view n) {
  if (n.empty() || !name_start(n[0]))
    return false;
  for (char c : n)
    if (!name_char(c))
      return false;
  return true;
}

bool valid_label_name(std::string_view n) {
  return valid_metric_name(n) && n.find(':') == std::string_view::npos && !n.starts_with("__");
}

bool parse_value(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (s == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (s == "NaN") {
    out = NAN;
    return true;
  }
  std::string copy(s);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

/// The family a sample belongs to: histograms own their `_bucket`, `_sum` and `_count`.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"})
    if (name.ends_with(suffix)) {
      auto base = name.substr(0, name.size() - suffix.size());
      if (auto t = types.find(base); t != types.end() && t->second == "histogram")
        return base;
    }
  return name;
}

class parser {
public:
  explicit parser(prometheus_text& out) : out_(out) {}

  void line(std::string_view l, std::size_t number) {
    at_ = number;
    if (l.empty())
      return;
    if (l[0] == '#')
      return comment(l);
    sample(l);
  }

  void finish() { check_histograms(); }

private:
  void error(const std::string& what) {
    out_.errors.push_back("line " + std::to_string(at_) + ": " + what);
  }

  void comment(std::string_view l) {
    bool help = l.starts_with("# HELP ");
    bool type = l.starts_with("# TYPE ");
    if (!help && !type)
      return; // a plain comment
    auto rest = l.substr(7);
    auto sp = rest.find(' ');
    auto name = std::string(rest.substr(0, sp));
    auto arg = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (!valid_metric_name(name))
      return error("bad metric name in a comment: " + name);
    if (seen_samples_.count(name))
      return error((help ? "HELP" : "TYPE") + std::string(" after the samples of ") + name);
    if (help) {
      if (!helps_.insert(name).second)
        error("second HELP for " + name);
      return;
    }
    static const std::set<std::string_view> kinds{"counter", "gauge", "histogram", "summary",
                                                  "untyped"};
    if (!kinds.count(arg))
      return error("unknown type '" + std::string(arg) + "' for " + name);
    if (!out_.types.emplace(name, std::string(arg)).second)
      error("second TYPE for " + name);
  }

  void sample(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && name_char(l[i]))
      ++i;
    prometheus_sample s;
    s.name = std::string(l.substr(0, i));
    if (!valid_metric_name(s.name))
      return error("bad metric name: " + std::string(l));
    if (i < l.size() && l[i] == '{')
      if (!labels(l, i, s.labels))
        return;
    if (i >= l.size() || l[i] != ' ')
      return error("no space before the value: " + std::string(l));
    auto rest = l.substr(i + 1);
    auto sp = rest.find(' ');
    if (!parse_value(rest.substr(0, sp), s.value))
      return error("bad value: " + std::string(l));
    if (sp != std::string_view::npos) {
      double ts = 0;
      if (!parse_value(rest.substr(sp + 1), ts))
        return error("bad timestamp: " + std::string(l));
    }
    auto family = family_of(s.name, out_.types);
    if (family != current_family_) {
      if (seen_samples_.count(family))
        error("the samples of " + family + " are not together");
      current_family_ = family;
    }
    seen_samples_.insert(family);
    auto type = out_.types.find(family);
    if (type == out_.types.end())
      error("no TYPE before the samples of " + family);
    else if (type->second == "counter" && !(s.value >= 0))
      error("negative counter: " + std::string(l));
    if (!series_.insert(s.name + render(s.labels)).second)
      error("duplicate series: " + std::string(l));
    out_.samples.push_back(std::move(s));
  }

  bool labels(std::string_view l, std::size_t& i, std::map<std::string, std::string>& out) {
    ++i; // '{'
    while (i < l.size() && l[i] != '}') {
      auto start = i;
      while (i < l.size() && name_char(l[i]))
        ++i;
      auto name = std::string(l.substr(start, i - start));
      if (!valid_label_name(name))
        return error("bad label name '" + name + "'"), false;
      if (i + 1 >= l.size() || l[i] != '=' || l[i + 1] != '"')
        return error("expected =\" after label " + name), false;
      i += 2;
      std::string value;
      for (;; ++i) {
        if (i >= l.size())
          return error("unterminated label value"), false;
        if (l[i] == '"')
          break;
        if (l[i] == '\\') {
          if (++i >= l.size())
            return error("dangling escape"), false;
          if (l[i] == 'n')
            value.push_back('\n');
          else if (l[i] == '\\' || l[i] == '"')
            value.push_back(l[i]);
          else
            return error(std::string("bad escape \\") + l[i]), false;
        } else {
          value.push_back(l[i]);
        }
      }
      ++i; // closing quote
      if (!out.emplace(name, value).second)
        return error("label " + name + " twice"), false;
      if (i < l.size() && l[i] == ',')
        ++i;
    }
    if (i >= l.size())
      return error("unterminated label set"), false;
    ++i; // '}'
    return true;
  }

  static std::string render(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (auto& [k, v] : labels)
      out += k + "=" + v + ";";
    return out;
  }

  void check_histograms() {
    for (auto& [family, type] : out_.types) {
      if (type != "histogram")
        continue;
      // Per label set (without `le`): the buckets in order, then _sum and _count.
      std::map<std::string, std::vector<std::pair<double, double>>> buckets;
      std::map<std::string, double> counts;
      std::set<std::string> sums;
      for (auto& s : out_.samples) {
        auto labels = s.labels;
        labels.erase("le");
        auto key = render(labels);
        if (s.name == family + "_bucket") {
          double le = 0;
          auto it = s.labels.find("le");
          if (it == s.labels.end() || !parse_value(it->second, le))
            error("a bucket of " + family + " has no valid le");
          else
            buckets[key].emplace_back(le, s.value);
        } else if (s.name == family + "_count") {
          counts[key] = s.value;
        } else if (s.name == family + "_sum") {
          sums.insert(key);
        }
      }
      for (auto& [key, list] : buckets) {
        for (std::size_t i = 1; i < list.size(); ++i) {
          if (!(list[i].first > list[i - 1].first))
            error(family + ": le not ascending");
          if (list[i].second < list[i - 1].second)
            error(family + ": bucket counts not cumulative");
        }
        if (list.empty() || !std::isinf(list.back().first))
          error(family + ": no +Inf bucket");
        else if (!counts.count(key) || counts[key] != list.back().second)
          error(family + ": _count differs from the +Inf bucket");
        if (!sums.count(key))
          error(family + ": no _sum");
      }
    }
  }

  prometheus_text& out_;
  std::size_t at_ = 0;
  std::set<std::string> helps_;
  std::set<std::string> seen_samples_;
  std::set<std::string> series_;
  std::string current_family_;
};

} // namespace

double prometheus_text::value(std::string_view name,
                              const std::map<std::string, std::string>& labels) const {
  for (auto& s : samples) {
    if (s.name != name)
      continue;
    bool match = true;
    for (auto& [k, v] : labels)
      if (auto it = s.labels.find(k); it == s.labels.end() || it->second != v)
        match = false;
    if (match)
      return s.value;
  }
  return -1;
}

prometheus_text parse_prometheus_text(std::string_view text) {
  prometheus_text out;
  parser p{out};
  std::size_t number = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      p.line(text, ++number);
      out.errors.push_back("the text does not end with a line feed");
      break;
    }
    p.line(text.substr(0, nl), ++number);
    text.remove_prefix(nl + 1);
  }
  p.finish();
  return out;
}

} // namespace rundun::test

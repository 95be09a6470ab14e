#include "api/request_parsing.hpp"

#define BOOST_TEST_MODULE request_parsing
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::api;

namespace {

std::string template_refusal(const std::string& body) {
  auto o = parse_object(body, false);
  if (!o)
    return o.error().code + ": " + o.error().message;
  auto s = parse_template_spec(*o);
  return s ? "" : s.error().message;
}

std::string run_refusal(const std::string& body) {
  auto s = parse_run_spec(*parse_object(body, false));
  return s ? "" : s.error().code + ": " + s.error().message;
}

} // namespace

BOOST_AUTO_TEST_CASE(bodies_must_be_json_objects) {
  BOOST_TEST(parse_object("{", false).error().code == "invalid_json");
  BOOST_TEST(parse_object("[]", false).error().message ==
             "the body must be a JSON object, got an array");
  BOOST_TEST(parse_object("", false).error().code == "invalid_field");
  BOOST_TEST(parse_object("  ", true)->empty());
}

BOOST_AUTO_TEST_CASE(template_fields_are_typed_and_named) {
  BOOST_TEST(template_refusal(R"({"steps":[]})") == "name is required");
  BOOST_TEST(template_refusal(R"({"name":1,"steps":[]})") == "name must be a string, got a number");
  BOOST_TEST(template_refusal(R"({"name":"n"})") == "steps is required");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":{}})") ==
             "steps must be an array, got an object");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":[1]})") ==
             "steps[0] must be an object, got a number");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":[{"title":"t","required":"yes"}]})") ==
             "steps[0].required must be true or false, got a string");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":[{"title":"t","photos_required":1.5}]})") ==
             "steps[0].photos_required must be an integer");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":[{"id":5,"title":"t"}]})") ==
             "steps[0].id must be a string, got a number");
  BOOST_TEST(template_refusal(R"({"name":"n","steps":[{"title":"t","photos_required":2}]})") == "");
}

BOOST_AUTO_TEST_CASE(run_fields_are_typed_and_named) {
  BOOST_TEST(run_refusal("{}") == "invalid_field: template_id is required");
  BOOST_TEST(run_refusal(R"({"template_id":"t","expires_in_hours":"1"})") ==
             "invalid_field: expires_in_hours must be a number, got a string");
  BOOST_TEST(run_refusal(R"({"template_id":"t","metadata":[]})") ==
             "invalid_field: metadata must be an object, got an array");
  BOOST_TEST(run_refusal(R"({"template_id":"t","webhook":"http://x"})") ==
             "invalid_field: webhook must be an object, got a string");
  BOOST_TEST(run_refusal(R"({"template_id":"t","webhook":{}})") ==
             "invalid_field: webhook.url is required");
  BOOST_TEST(run_refusal(R"({"template_id":"t","webhook":{"url":"http://x","events":"all"}})") ==
             "invalid_field: webhook.events must be an array of event names, got a string");
  BOOST_TEST(run_refusal(R"({"template_id":"t","webhook":{"url":"http://x","secret":7}})")
                 .starts_with("invalid_secret: "));
  auto ok = parse_run_spec(*parse_object(
      R"({"template_id":"t","expires_in_hours":0.25,"metadata":{"a":[1]},"webhook":{"url":"http://x","events":[]}})",
      false));
  BOOST_REQUIRE(ok);
  BOOST_TEST((ok->expires_in_hours == 0.25));
  BOOST_TEST(ok->metadata_json == R"({"a":[1]})");
  BOOST_TEST(ok->webhook->events->empty());
}

BOOST_AUTO_TEST_CASE(answers_keep_any_value_and_a_text_note) {
  BOOST_TEST(*parse_answer(*parse_object(R"({"value":{"x":[1,2]},"note":"n"})", true)) ==
             R"({"value":{"x":[1,2]},"note":"n"})");
  BOOST_TEST(*parse_answer(*parse_object("", true)) == "{}");
  BOOST_TEST(parse_answer(*parse_object(R"({"note":1})", true)).error().message ==
             "note must be a string, got a number");
}

BOOST_AUTO_TEST_CASE(json_is_parsed_strictly) {
  auto why = [](const std::string& body) {
    auto o = parse_object(body, false);
    return o ? std::string("accepted") : o.error().code + ": " + o.error().message;
  };
  BOOST_TEST(why(R"({"a":1,"a":2})") ==
             "invalid_json: the body is not valid JSON: the key 'a' appears twice in one object");
  BOOST_TEST(why(R"({"a":{"b":1,"b":1}})").find("appears twice") != std::string::npos);
  BOOST_TEST(why(R"({"a":{"b":1},"c":{"b":1}})") == "accepted"); // same key, other objects
  BOOST_TEST(why(R"({"a":1e999})") ==
             "invalid_json: the body is not valid JSON: a number is out of range");
  BOOST_TEST(why(R"({"a":-1e999})").find("out of range") != std::string::npos);
  BOOST_TEST(why("{\"a\":\"\xff\xfe\"}").starts_with("invalid_json")); // not UTF-8
  BOOST_TEST(why("{\"a\":\"\xc0\xaf\"}").starts_with("invalid_json")); // overlong
  BOOST_TEST(why(R"({"a":1,})").starts_with("invalid_json"));          // trailing comma
  BOOST_TEST(why(R"({"a":1 /* no */})").starts_with("invalid_json"));  // comment
  BOOST_TEST(why(std::string(32, '[') + std::string(32, ']')).starts_with("invalid_field"));
  BOOST_TEST(why("{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}")
                 .starts_with("invalid_json"));
  BOOST_TEST(why(R"({"a":"é ✓ 😀"})") == "accepted");
}

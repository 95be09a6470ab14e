// rundund's command line (contract §1).

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE cli
#include <algorithm>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sys/stat.h>

using namespace rundun::test;

BOOST_AUTO_TEST_CASE(help_lists_the_flags_and_exits_0) {
  auto r = run_rundund({"--help"});
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out.find("--retry-schedule") != std::string::npos);
  BOOST_TEST(r.out.find("RUNDUN_DATA_DIR") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_flags_print_one_line_and_exit_2) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--bogus"}, {"--listen", "nope"}, {"--retry-schedule", "soon"}, {"--log-level", "x"}}) {
    auto r = run_rundund(args);
    BOOST_TEST(r.exit_code == 2, args[0]);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(r.err.starts_with("rundund: "));
  }
  auto env = run_rundund({}, {{"RUNDUN_DELIVERY_TIMEOUT", "forever"}});
  BOOST_TEST(env.exit_code == 2);
  BOOST_TEST(env.err.find("RUNDUN_DELIVERY_TIMEOUT") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_test_sets_the_servers_clock_and_a_bad_one_is_refused) {
  auto bad = run_rundund({}, {{"RUNDUN_CLOCK_START", "yesterday"}});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("RUNDUN_CLOCK_START must be an RFC 3339 instant") != std::string::npos,
             bad.err);
  temp_dir dir;
  server_process server(dir.str(), {}, true, {{"RUNDUN_CLOCK_START", "2031-01-02T03:04:05Z"}});
  auto api = server.api();
  auto tid =
      api.make_template(boost::json::parse(R"({"name":"T","steps":[{"id":"a","title":"A"}]})"));
  auto created = api.get("/v1/templates/" + tid).json().at("created_at").as_string();
  BOOST_TEST(std::string(created).starts_with("2031-01-02T03:0"), created);
  BOOST_TEST(server.stderr_text().find("the clock is moved for a test") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_generated_key_is_printed_once_and_kept) {
  temp_dir dir;
  std::string key;
  {
    server_process first{dir.str(), {}, false};
    key = first.printed_key();
    BOOST_TEST(key.size() >= 32u);
    api_client api{first.port(), key};
    BOOST_TEST(api.get("/v1/templates/t-x").status == 404);
    BOOST_TEST(first.terminate() == 0);
  }
  server_process second{dir.str(), {}, false};
  BOOST_TEST(second.printed_key().empty());
  api_client api{second.port(), key};
  BOOST_TEST(api.get("/v1/templates/t-x").status == 404);
  // Only a hash is kept, and only its owner may read it.
  struct stat st {};
  BOOST_REQUIRE(::stat((dir.path() / "api-key.sha256").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  std::ifstream in{dir.path() / "api-key.sha256"};
  std::string stored;
  in >> stored;
  BOOST_TEST(stored.find(key) == std::string::npos);
  BOOST_TEST(second.stderr_text().find(key) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(port_0_prints_the_real_port) {
  temp_dir dir;
  server_process server{dir.str()};
  BOOST_TEST(server.port() > 0);
  BOOST_TEST(http_call(server.port(), "GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(logs_are_json_lines_on_stderr) {
  temp_dir dir;
  server_process server{dir.str(), {"--log-level", "info"}};
  BOOST_TEST(server.terminate() == 0);
  auto text = server.stderr_text();
  BOOST_TEST(text.starts_with("{\"time\":"));
  BOOST_TEST(text.find("\"message\":\"listening\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_data_dir_and_its_files_are_private) {
  temp_dir dir;
  auto data = dir.path() / "data";
  {
    server_process server{data.string(), {}, false};
    BOOST_TEST(server.terminate() == 0);
  }
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
  };
  BOOST_TEST(mode(data) == 0700u);
  BOOST_TEST(mode(data / "data.mdb") == 0600u);
  BOOST_TEST(mode(data / "lock.mdb") == 0600u);
  BOOST_TEST(mode(data / "api-key.sha256") == 0600u);
}

BOOST_AUTO_TEST_CASE(an_operator_secret_file_without_a_secret_stops_the_start_rather_than_rotate) {
  temp_dir dir;
  {
    // Generated once, mode 0600, and printed once.
    server_process first{dir.str(), {"--operator-webhook", "http://127.0.0.1:9/notices"}};
    BOOST_TEST(first.stdout_text().find("rundund operator webhook secret: whsec_") !=
               std::string::npos);
    struct stat st {};
    BOOST_REQUIRE(::stat((dir.path() / "operator-webhook.secret").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600);
  }
  std::ofstream{dir.path() / "operator-webhook.secret", std::ios::trunc} << "garbage\n";
  auto r = run_rundund({"--data-dir", dir.str(), "--listen", "127.0.0.1:0", "--operator-webhook",
                        "http://127.0.0.1:9/notices"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.err.find("holds no whsec_ secret") != std::string::npos);
  BOOST_TEST(r.out.find("operator webhook secret:") == std::string::npos);
}

// Storage faults under load on a real rundund: the LMDB map too small, the disk full (a
// small tmpfs), and the data file made unwritable while running (chattr +i). In each,
// commands answer 500 storage_error at once (no hang), reads go on, the log says what
// failed, nothing acknowledged is lost, and writes resume once the fault is gone (the full
// map after a restart with a larger map; the others without a restart).

#include "media/image.hpp"
#include "tests/support/images.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE disk_faults
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <unistd.h>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// A shell command's exit code (0 on success).
int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Says why a case cannot run on this machine. ctest reports the suite as skipped on this
/// line (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt), so that a machine without root
/// does not count checks that never ran as passed.
void skip(const std::string& why) {
  std::cout << "SKIPPED: " << why << std::endl;
}

/// What the load below got acknowledged: runs with their answered step, and photos.
struct acknowledged {
  std::vector<std::string> runs;
  std::vector<std::string> photos;
  http_result refusal; ///< the first non-2xx answer
};

struct load {
  const server_process& server;
  api_client api = server.api();
  scripted_receiver& rx;
  std::string tmpl = api.make_template(json::parse(R"({"name":"Disk","steps":[
      {"id":"a","title":"A"},{"id":"pad","title":"Padding","required":false}]})"));
  /// About 400 KiB: random pixels do not compress.
  std::string photo = make_jpeg(noise(480, 400), 0, 95);

  /// Creates runs, each with a photo and its step `a` answered, until a command is refused
  /// (or `max_runs`); every answer must come (http_call gives up after 30 s).
  acknowledged until_refused(acknowledged ack, int max_runs = 400) {
    for (int i = 0; i < max_runs; ++i) {
      auto created =
          api.post_json("/v1/runs", json::parse(R"({"template_id":")" + tmpl +
                                                R"(","webhook":{"url":")" + rx.url() + R"("}})"));
      if (created.status != 201)
        return ack.refusal = created, ack;
      auto path = link_path(std::string(created.json().at("link").as_string()));
      auto up = http_call(server.port(), "POST", path + "/steps/pad/photos", photo,
                          {{"Content-Type", "image/jpeg"}});
      if (up.status != 201)
        return ack.refusal = up, ack;
      ack.photos.emplace_back(up.json().at("photo_id").as_string());
      auto answered = http_call(server.port(), "POST", path + "/steps/a/answer", "{}");
      if (answered.status != 200)
        return ack.refusal = answered, ack;
      ack.runs.emplace_back(created.json().at("id").as_string());
    }
    return ack;
  }

  /// Every acknowledged run has its step.completed on disk and at the receiver, and every
  /// acknowledged photo is served.
  void check_nothing_lost(const acknowledged& ack) {
    for (auto& id : ack.runs) {
      auto run = api.get("/v1/runs/" + id);
      BOOST_TEST_REQUIRE(run.status == 200, "run " << id << " is gone");
      BOOST_TEST(run.json().at("steps").at(0).at("status").as_string() == "completed");
    }
    for (auto& p : ack.photos)
      BOOST_TEST(api.get("/v1/photos/" + p).status == 200, "photo " << p << " is gone");
    BOOST_TEST(eventually(
        [&] {
          std::set<std::string> delivered;
          for (auto& r : rx.requests())
            delivered.insert(std::string(r.json().at("run_id").as_string()));
          for (auto& id : ack.runs)
            if (!delivered.count(id))
              return false;
          return true;
        },
        30s));
  }
};

/// /healthz follows the store: `503 store_failed` right after a write was refused. Asked
/// again until no other write slips in between the refusal and the question: a delivery
/// result that fits in a freed page is stored, and rightly turns the store healthy for a
/// moment.
void check_refusing(load& l) {
  BOOST_TEST(eventually(
      [&] {
        if (l.until_refused({}, 1).refusal.status != 500)
          return false;
        auto h = http_call(l.server.port(), "GET", "/healthz");
        return h.status == 503 && h.error_code() == "store_failed";
      },
      20s));
}

/// /healthz is `200` again once writes are stored.
void check_writing(const server_process& server) {
  BOOST_TEST(eventually([&] { return http_call(server.port(), "GET", "/healthz").status == 200; }));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_map_too_small_for_the_load_refuses_clearly_and_loses_nothing) {
  temp_dir dir;
  scripted_receiver rx;
  acknowledged ack;
  {
    server_process server{dir.str(), {"--map-size", "16M"}};
    load l{server, server.api(), rx};
    ack = l.until_refused({});
    BOOST_TEST_REQUIRE(ack.refusal.status == 500, "no refusal after " << ack.runs.size());
    BOOST_TEST(ack.refusal.error_code() == "storage_error");
    BOOST_TEST(ack.refusal.body.find("map is full") != std::string::npos, ack.refusal.body);
    BOOST_TEST(ack.runs.size() > 5u);
    // Reads go on, and /healthz says the store cannot write.
    BOOST_TEST(l.api.get("/v1/runs/" + ack.runs.front()).status == 200);
    check_refusing(l);
    BOOST_TEST(eventually([&] {
      auto err = server.stderr_text();
      return err.find("the store could not commit") != std::string::npos &&
             err.find("map is full") != std::string::npos;
    }));
  }
  // Space back: a larger map. Everything acknowledged is there and delivered.
  server_process server{dir.str(), {"--map-size", "64M"}};
  load l{server, server.api(), rx};
  l.check_nothing_lost(ack);
  auto more = l.until_refused({}, 3);
  BOOST_TEST(more.runs.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_full_disk_refuses_clearly_and_writes_resume_when_space_is_back) {
  if (::geteuid() != 0) {
    skip("mounting a small tmpfs needs root");
    return;
  }
  temp_dir mnt;
  if (sh("mount -t tmpfs -o size=8m tmpfs " + mnt.str()) != 0) {
    skip("this machine does not allow mounting a tmpfs");
    return;
  }
  struct unmount {
    std::string at;
    ~unmount() { sh("umount -l " + at); }
  } guard{mnt.str()};
  auto data = mnt.path() / "data";
  auto filler = mnt.path() / "filler";
  scripted_receiver rx;
  server_process server{data.string()};
  load l{server, server.api(), rx};
  // Leave about 3 MiB free.
  BOOST_REQUIRE(sh("dd if=/dev/zero of=" + filler.string() + " bs=1M count=4") == 0);
  auto ack = l.until_refused({});
  BOOST_TEST_REQUIRE(ack.refusal.status == 500, "no refusal after " << ack.runs.size());
  BOOST_TEST(ack.refusal.error_code() == "storage_error");
  BOOST_TEST(ack.refusal.body.find("full") != std::string::npos, ack.refusal.body);
  BOOST_TEST(l.api.get("/v1/runs/" + ack.runs.front()).status == 200); // reads go on
  BOOST_TEST(eventually([&] {
    auto err = server.stderr_text();
    return err.find("the store could not commit") != std::string::npos &&
           err.find("no space left on device") != std::string::npos;
  }));
  check_refusing(l);
  // Space back, no restart: writes resume, and /healthz with them.
  fs::remove(filler);
  auto more = l.until_refused({}, 3);
  BOOST_TEST(more.runs.size() == 3u, "after space came back: " << more.refusal.body);
  check_writing(server);
  l.check_nothing_lost(ack);
  l.check_nothing_lost(more);
}

BOOST_AUTO_TEST_CASE(a_data_file_made_unwritable_refuses_clearly_and_resumes_when_writable) {
  temp_dir dir;
  scripted_receiver rx;
  server_process server{dir.str()};
  load l{server, server.api(), rx};
  auto first = l.until_refused({}, 5);
  BOOST_REQUIRE(first.runs.size() == 5u);
  // No write may be in flight when the file turns unwritable: a commit whose pages were
  // written but whose final meta page fails leaves LMDB's environment unusable until the
  // process restarts (MDB_PANIC; /healthz then says so). So every delivery result is stored
  // first.
  BOOST_REQUIRE(eventually([&] {
    for (auto& id : first.runs) {
      auto ev = l.api.get("/v1/runs/" + id + "/events").json().at("events").at(0);
      if (ev.at("delivery").at("status").as_string() != "delivered")
        return false;
    }
    return true;
  }));
  auto data_file = (dir.path() / "data.mdb").string();
  // The immutable flag: every write through rundund's open descriptor fails (EPERM), as on a
  // file system gone read-only. (A remount is refused while the file is open for writing.)
  if (sh("chattr +i " + data_file) != 0) {
    skip("chattr +i is not supported here (needs root and ext2/3/4)");
    return;
  }
  struct writable {
    std::string file;
    ~writable() { sh("chattr -i " + file); }
  } guard{data_file};
  auto refused = l.until_refused({}, 5);
  BOOST_TEST_REQUIRE(refused.refusal.status == 500, "writes went on on an immutable file");
  BOOST_TEST(refused.refusal.error_code() == "storage_error");
  BOOST_TEST(refused.refusal.body.find("cannot be written") != std::string::npos,
             refused.refusal.body);
  BOOST_TEST(l.api.get("/v1/runs/" + first.runs.front()).status == 200); // reads go on
  BOOST_TEST(eventually(
      [&] { return server.stderr_text().find("cannot be written") != std::string::npos; }));
  check_refusing(l);
  BOOST_REQUIRE(sh("chattr -i " + data_file) == 0);
  auto more = l.until_refused({}, 3);
  BOOST_TEST(more.runs.size() == 3u, "after the file became writable: " << more.refusal.body);
  check_writing(server);
  l.check_nothing_lost(first);
  l.check_nothing_lost(refused);
  l.check_nothing_lost(more);
}

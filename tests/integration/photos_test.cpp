// Photo uploads and inline thumbnails through a real rundund (contract §6 and §7).

#include "media/jpeg_codec.hpp"
#include "net/base64.hpp"
#include "tests/support/images.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE photos
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <thread>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct photo_fixture {
  temp_dir dir;
  server_process server{dir.str()};
  api_client api = server.api();
  scripted_receiver rx;
  std::string path;
  std::string run_id;

  photo_fixture() {
    auto t = api.make_template(json::parse(R"({"name":"Inspection","steps":[
      {"id":"door","title":"Photo of the door","photos_required":2},
      {"id":"extra","title":"Anything else","required":false}]})"));
    auto run = api.make_run(json::parse(R"({"template_id":")" + t + R"(","webhook":{"url":")" +
                                        rx.url() + R"(","events":["step.completed"]}})"));
    path = link_path(std::string(run.at("link").as_string()));
    run_id = std::string(run.at("id").as_string());
  }

  http_result upload(const std::string& step, const std::string& type, const std::string& bytes) {
    return http_call(server.port(), "POST", path + "/steps/" + step + "/photos", bytes,
                     {{"Content-Type", type}});
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(photos, photo_fixture)

BOOST_AUTO_TEST_CASE(an_uploaded_photo_reaches_the_webhook_as_an_upright_thumbnail) {
  // Stored 400x200, displayed 200x400 (EXIF 6: rotate 90 clockwise).
  auto jpeg = make_jpeg(quadrants(400, 200), 6);
  auto first = upload("door", "image/jpeg", jpeg);
  BOOST_TEST(first.status == 201);
  auto body = first.json().as_object();
  BOOST_TEST(body.at("photo_id").as_string().starts_with("p-"));
  BOOST_TEST(body.at("width").as_int64() == 200);
  BOOST_TEST(body.at("height").as_int64() == 400);

  // One photo of two: the step cannot be answered yet.
  auto early = http_call(server.port(), "POST", path + "/steps/door/answer", "{}");
  BOOST_TEST(early.status == 409);
  BOOST_TEST(early.error_code() == "photos_missing");

  auto png = make_png_with_alpha(64, 32);
  auto second = upload("door", "image/png", png);
  BOOST_TEST(second.status == 201);
  BOOST_TEST(
      http_call(server.port(), "POST", path + "/steps/door/answer", R"({"value":"ok"})").status ==
      200);

  BOOST_REQUIRE(rx.wait_for(1, 5s));
  auto data = rx.requests()[0].json().at("data").as_object();
  auto& photos = data.at("photos").as_array();
  BOOST_REQUIRE(photos.size() == 2u);
  auto& p0 = photos[0].as_object();
  BOOST_TEST(p0.at("photo_id") == body.at("photo_id"));
  BOOST_TEST(p0.at("content_type").as_string() == "image/jpeg");
  BOOST_TEST(p0.at("width").as_int64() == 200);
  BOOST_TEST(p0.at("height").as_int64() == 400);
  auto& thumb = p0.at("thumbnail").as_object();
  BOOST_TEST(thumb.at("content_type").as_string() == "image/jpeg");
  BOOST_TEST(thumb.at("width").as_int64() == 128);
  BOOST_TEST(thumb.at("height").as_int64() == 256);
  auto bytes = net::base64_decode(std::string(thumb.at("data").as_string()));
  BOOST_REQUIRE(bytes);
  BOOST_TEST(bytes->size() <= 24u * 1024);
  auto decoded = media::decode_jpeg(
      {reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()}, 1 << 30);
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->width == 128);
  BOOST_TEST(decoded->height == 256);
  // Upright: the stored bottom-left (blue) is now the top-left.
  auto* tl = decoded->at(4, 4);
  BOOST_TEST((tl[2] > 170 && tl[0] < 90 && tl[1] < 90));
  BOOST_TEST(photos[1].at("content_type").as_string() == "image/png");
  BOOST_TEST(photos[1].at("thumbnail").at("width").as_int64() == 64);

  // The original bytes come back as uploaded, with their type.
  auto original = api.get("/v1/photos/" + std::string(body.at("photo_id").as_string()));
  BOOST_TEST(original.status == 200);
  BOOST_TEST(original.headers["content-type"] == "image/jpeg");
  BOOST_TEST(original.headers["x-content-type-options"] == "nosniff");
  BOOST_TEST(original.body == jpeg);
  BOOST_TEST(
      http_call(server.port(), "GET", "/v1/photos/" + std::string(body.at("photo_id").as_string()))
          .status == 401);

  // The run shows the photo ids on the step.
  auto run = api.get("/v1/runs/" + run_id).json();
  BOOST_TEST(run.at("steps").at(0).at("photos").as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_photo_of_several_mib_is_taken_and_stored_whole) {
  // Noise does not compress: 1600x1200 at quality 100 is several MiB, well over the API's
  // 1 MiB and under the photos' 10 MiB.
  auto jpeg = make_jpeg(noise(1600, 1200), 0, 100);
  BOOST_REQUIRE_GT(jpeg.size(), std::size_t{2} << 20);
  BOOST_REQUIRE_LT(jpeg.size(), std::size_t{10} << 20);
  auto r = upload("extra", "image/jpeg", jpeg);
  BOOST_REQUIRE_EQUAL(r.status, 201);
  auto id = std::string(r.json().at("photo_id").as_string());
  BOOST_TEST(api.get("/v1/photos/" + id).body == jpeg);
}

BOOST_AUTO_TEST_CASE(bad_uploads_are_refused_and_change_nothing) {
  auto jpeg = make_jpeg(quadrants(64, 64));
  auto png = make_png(quadrants(16, 16));
  struct row {
    std::string type, bytes;
    int status;
    std::string code;
  };
  std::vector<row> rows = {
      {"image/jpeg", jpeg.substr(0, jpeg.size() / 2), 400, "invalid_image"}, // truncated
      {"image/jpeg", png, 400, "invalid_image"},                             // PNG sent as JPEG
      {"image/png", jpeg, 400, "invalid_image"},
      {"image/jpeg", "random bytes, not an image at all", 400, "invalid_image"},
      {"image/jpeg", "", 400, "invalid_image"},
      {"image/jpeg", jpeg_declaring(10000, 10000), 400, "image_too_large"}, // a pixel bomb
      {"image/png", png_declaring(30000, 30000), 400, "image_too_large"},
      {"image/gif", jpeg, 415, "unsupported_media_type"},
      {"text/plain", jpeg, 415, "unsupported_media_type"},
  };
  for (auto& r : rows) {
    auto res = upload("door", r.type, r.bytes);
    BOOST_TEST(res.status == r.status, r.type << " " << r.code);
    BOOST_TEST(res.error_code() == r.code, r.type << " " << r.code);
  }
  auto big = upload("door", "image/jpeg", std::string((10 << 20) + 1, 'x'));
  BOOST_TEST(big.status == 413);
  BOOST_TEST(upload("nope", "image/jpeg", jpeg).error_code() == "step_not_found");
  BOOST_TEST(http_call(server.port(), "POST", "/r/nope/steps/door/photos", jpeg,
                       {{"Content-Type", "image/jpeg"}})
                 .status == 404);
  auto run = api.get("/v1/runs/" + run_id).json();
  BOOST_TEST(run.at("steps").at(0).at("photos").as_array().empty());
}

BOOST_AUTO_TEST_CASE(the_link_shows_its_own_photos_thumbnails_and_no_others) {
  auto id = std::string(upload("door", "image/jpeg", make_jpeg(quadrants(800, 600)))
                            .json()
                            .at("photo_id")
                            .as_string());
  auto thumb = http_call(server.port(), "GET", path + "/photos/" + id + "/thumbnail");
  BOOST_TEST(thumb.status == 200);
  BOOST_TEST(thumb.headers["content-type"] == "image/jpeg");
  auto decoded = media::decode_jpeg(
      {reinterpret_cast<const std::uint8_t*>(thumb.body.data()), thumb.body.size()}, 4096);
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->width == 256);
  BOOST_TEST(decoded->height == 192);
  // Another run's link does not reach this photo, and an unknown id is 404 too.
  auto t = api.make_template(json::parse(R"({"name":"Other","steps":[{"id":"a","title":"A"}]})"));
  auto other = link_path(std::string(
      api.make_run(json::parse(R"({"template_id":")" + t + R"("})")).at("link").as_string()));
  auto foreign = http_call(server.port(), "GET", other + "/photos/" + id + "/thumbnail");
  BOOST_TEST(foreign.status == 404);
  BOOST_TEST(foreign.error_code() == "photo_not_found");
  BOOST_TEST(http_call(server.port(), "GET", path + "/photos/p-nope/thumbnail").status == 404);
  BOOST_TEST(http_call(server.port(), "GET", "/r/nope/photos/" + id + "/thumbnail").status == 404);
}

BOOST_AUTO_TEST_CASE(a_step_holds_at_most_20_photos) {
  auto jpeg = make_jpeg(quadrants(32, 32));
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE(upload("extra", "image/jpeg", jpeg).status == 201);
  auto over = upload("extra", "image/jpeg", jpeg);
  BOOST_TEST(over.status == 409);
  BOOST_TEST(over.error_code() == "too_many_photos");
}

BOOST_AUTO_TEST_CASE(photos_go_only_to_pending_steps_of_active_runs) {
  auto jpeg = make_jpeg(quadrants(32, 32));
  BOOST_TEST(http_call(server.port(), "POST", path + "/steps/extra/skip").status == 200);
  BOOST_TEST(upload("extra", "image/jpeg", jpeg).error_code() == "step_not_pending");
  BOOST_TEST(http_call(server.port(), "POST", path + "/exit").status == 200);
  BOOST_TEST(upload("door", "image/jpeg", jpeg).error_code() == "run_not_active");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// A process's peak resident memory (VmHWM) in KiB, from /proc.
long peak_rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:"))
      return std::stol(line.substr(6));
  return -1;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(many_concurrent_uploads_are_taken_or_shed_with_retry_after, photo_fixture) {
  // 48 clients upload a 12-megapixel photo (about 3 MiB) at once. The media queue holds 32:
  // each upload is either taken (201) or shed (503 with Retry-After), none is lost or hangs,
  // and what was taken is on the run. Memory stays bounded by the queue, not by the clients.
  auto jpeg = make_jpeg(quadrants(4000, 3000), 0, 85);
  constexpr int clients = 48;
  std::vector<http_result> answers(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] { answers[i] = upload("extra", "image/jpeg", jpeg); });
  for (auto& t : threads)
    t.join();
  // Each answer is one of three: taken (201); shed (503 overloaded, with Retry-After); or,
  // once the step holds its 20 photos, 409 too_many_photos.
  int taken = 0, shed = 0, full = 0;
  for (auto& a : answers) {
    if (a.status == 201) {
      ++taken;
    } else if (a.status == 503) {
      BOOST_TEST(a.error_code() == "overloaded");
      BOOST_TEST(a.headers["retry-after"] == "1");
      ++shed;
    } else {
      BOOST_TEST(a.status == 409);
      BOOST_TEST(a.error_code() == "too_many_photos");
      ++full;
    }
  }
  BOOST_TEST_MESSAGE("48 concurrent 12 MP uploads: "
                     << taken << " taken, " << shed << " shed (503), " << full
                     << " over the step's 20; rundund "
                     << "peak RSS " << peak_rss_kib(server.pid()) / 1024 << " MiB");
  BOOST_TEST(taken + shed + full == clients);
  BOOST_TEST(taken == 20); // shed ones are few at most; 20 fit
  auto photos = api.get("/v1/runs/" + run_id).json().at("steps").at(1).at("photos");
  BOOST_TEST(photos.as_array().size() == 20u);
}

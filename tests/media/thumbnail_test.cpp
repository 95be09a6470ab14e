#include "media/thumbnail.hpp"

#include "media/jpeg_codec.hpp"
#include "media/orientation.hpp"
#include "media/png_codec.hpp"
#include "tests/support/images.hpp"

#define BOOST_TEST_MODULE thumbnail
#include <boost/test/unit_test.hpp>
#include <random>

using namespace rundun;
using namespace rundun::media;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

enum colour { red, green, blue, white, other };

/// The dominant colour of a thumbnail pixel, allowing for JPEG's blur.
colour colour_at(const rgb_image& img, int x, int y) {
  auto* p = img.at(x, y);
  auto hi = [](int v) { return v > 170; };
  auto lo = [](int v) { return v < 90; };
  if (hi(p[0]) && hi(p[1]) && hi(p[2]))
    return white;
  if (hi(p[0]) && lo(p[1]) && lo(p[2]))
    return red;
  if (lo(p[0]) && hi(p[1]) && lo(p[2]))
    return green;
  if (lo(p[0]) && lo(p[1]) && hi(p[2]))
    return blue;
  return other;
}

rgb_image decode_thumbnail(const rendered_photo& r) {
  auto img = decode_jpeg(bytes_of(r.thumbnail_jpeg), 1 << 30); // full size
  BOOST_REQUIRE(img);
  return *img;
}

/// The displayed corners (top-left, top-right, bottom-left, bottom-right) of the quadrant
/// pattern for each EXIF orientation, from the EXIF definition of each.
const std::array<std::array<colour, 4>, 9> expected_corners{{
    {},
    {red, green, blue, white}, // 1 as stored
    {green, red, white, blue}, // 2 mirrored horizontally
    {white, blue, green, red}, // 3 rotated 180
    {blue, white, red, green}, // 4 mirrored vertically
    {red, blue, green, white}, // 5 transposed
    {blue, red, white, green}, // 6 rotated 90 clockwise
    {white, green, blue, red}, // 7 transversed
    {green, white, red, blue}, // 8 rotated 90 counter-clockwise
}};

} // namespace

BOOST_AUTO_TEST_CASE(a_jpeg_gets_a_small_upright_thumbnail) {
  auto jpeg = test::make_jpeg(test::quadrants(1000, 600));
  auto r = render_photo(image_format::jpeg, bytes_of(jpeg));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->width == 1000);
  BOOST_TEST(r->height == 600);
  BOOST_TEST(r->thumbnail_width == 256);
  BOOST_TEST(r->thumbnail_height == 154);
  BOOST_TEST(r->thumbnail_jpeg.size() <= max_thumbnail_bytes);
  auto thumb = decode_thumbnail(*r);
  BOOST_TEST(thumb.width == 256);
  BOOST_TEST(colour_at(thumb, 5, 5) == red);
  BOOST_TEST(colour_at(thumb, 250, 150) == white);
}

BOOST_AUTO_TEST_CASE(every_exif_orientation_is_applied) {
  for (int o = 1; o <= 8; ++o) {
    auto jpeg = test::make_jpeg(test::quadrants(400, 200), o);
    auto r = render_photo(image_format::jpeg, bytes_of(jpeg));
    BOOST_REQUIRE(r);
    bool swapped = o >= 5;
    BOOST_TEST(r->width == (swapped ? 200 : 400), "orientation " << o);
    BOOST_TEST(r->height == (swapped ? 400 : 200), "orientation " << o);
    auto thumb = decode_thumbnail(*r);
    BOOST_TEST(thumb.width == (swapped ? 128 : 256), "orientation " << o);
    int w = thumb.width, h = thumb.height;
    std::array<colour, 4> corners{colour_at(thumb, 4, 4), colour_at(thumb, w - 5, 4),
                                  colour_at(thumb, 4, h - 5), colour_at(thumb, w - 5, h - 5)};
    BOOST_TEST((corners == expected_corners[o]), "orientation " << o);
  }
}

BOOST_AUTO_TEST_CASE(a_png_keeps_its_size_and_its_transparency_turns_white) {
  auto png = test::make_png_with_alpha(100, 50);
  auto r = render_photo(image_format::png, bytes_of(png));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->width == 100);
  BOOST_TEST(r->thumbnail_width == 100); // small images are not enlarged
  BOOST_TEST(r->thumbnail_height == 50);
  auto thumb = decode_thumbnail(*r);
  BOOST_TEST(colour_at(thumb, 10, 25) == red);
  BOOST_TEST(colour_at(thumb, 90, 25) == white);
}

BOOST_AUTO_TEST_CASE(a_large_png_is_scaled_down) {
  auto png = test::make_png(test::quadrants(1200, 3000));
  auto r = render_photo(image_format::png, bytes_of(png));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->thumbnail_height == 256);
  BOOST_TEST(r->thumbnail_width == 102);
}

BOOST_AUTO_TEST_CASE(noisy_photos_still_fit_the_byte_budget) {
  auto jpeg = test::make_jpeg(test::noise(2000, 2000), 0, 95);
  auto r = render_photo(image_format::jpeg, bytes_of(jpeg));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->thumbnail_jpeg.size() <= max_thumbnail_bytes);
}

BOOST_AUTO_TEST_CASE(large_jpegs_are_scaled_in_the_dct_domain) {
  auto jpeg = test::make_jpeg(test::quadrants(4000, 3000));
  auto img = decode_jpeg(bytes_of(jpeg), 256);
  BOOST_REQUIRE(img);
  BOOST_TEST(img->width == 500); // 1/8, the largest reduction that keeps >= 256 px
  BOOST_TEST(img->height == 375);
}

BOOST_AUTO_TEST_CASE(what_is_not_an_image_of_its_type_is_refused) {
  auto jpeg = test::make_jpeg(test::quadrants(300, 300));
  auto png = test::make_png(test::quadrants(30, 30));
  auto truncated = jpeg.substr(0, jpeg.size() / 2);
  BOOST_TEST(render_photo(image_format::jpeg, bytes_of(truncated)).error() ==
             make_error_code(errc::not_jpeg));
  BOOST_TEST(render_photo(image_format::jpeg, bytes_of(png)).error() ==
             make_error_code(errc::not_jpeg));
  BOOST_TEST(render_photo(image_format::png, bytes_of(jpeg)).error() ==
             make_error_code(errc::not_png));
  BOOST_TEST(render_photo(image_format::png, bytes_of(png.substr(0, png.size() - 20))).error() ==
             make_error_code(errc::not_png));
  std::mt19937 rng{7};
  std::string random(5000, '\0');
  for (auto& c : random)
    c = static_cast<char>(rng());
  BOOST_TEST(!render_photo(image_format::jpeg, bytes_of(random)));
  BOOST_TEST(!render_photo(image_format::png, bytes_of(random)));
  BOOST_TEST(!render_photo(image_format::jpeg, bytes_of(std::string{})));
}

BOOST_AUTO_TEST_CASE(pixel_bombs_are_refused_before_decoding) {
  auto jbomb = test::jpeg_declaring(10000, 10000); // 100 megapixels in a few hundred bytes
  BOOST_TEST(jbomb.size() < 2000u);
  BOOST_TEST(render_photo(image_format::jpeg, bytes_of(jbomb)).error() ==
             make_error_code(errc::too_many_pixels));
  auto pbomb = test::png_declaring(20000, 20000);
  BOOST_TEST(render_photo(image_format::png, bytes_of(pbomb)).error() ==
             make_error_code(errc::too_many_pixels));
}

BOOST_AUTO_TEST_CASE(an_exif_offset_near_4_gib_does_not_wrap_the_bounds_check) {
  // Found by fuzz_photo: IFD offset 0xfffffffe made `offset + 2` wrap in 32 bits.
  std::string tiff = {'I', 'I', 42, 0, '\xfe', '\xff', '\xff', '\xff', 0, 0};
  std::string body = std::string("Exif\0\0", 6) + tiff;
  auto length = body.size() + 2;
  std::string jpeg = {'\xff',
                      '\xd8',
                      '\xff',
                      '\xe1',
                      static_cast<char>(length >> 8),
                      static_cast<char>(length & 0xff)};
  jpeg += body;
  BOOST_TEST(exif_orientation(bytes_of(jpeg)) == 1);
}

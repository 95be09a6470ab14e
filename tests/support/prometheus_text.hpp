#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rundun::test {

/// One sample of a scrape.
struct prometheus_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// A scrape parsed strictly by the text exposition format 0.0.4: what it holds, and every
/// way in which it breaks the format (empty when it is well-formed).
struct prometheus_text {
  std::vector<prometheus_sample> samples;
  /// Family name to its `# TYPE`.
  std::map<std::string, std::string> types;
  std::vector<std::string> errors;

  /// The value of the one sample named `name` whose labels include `labels`; -1 when no
  /// sample matches (every figure here is non-negative).
  double value(std::string_view name, const std::map<std::string, std::string>& labels = {}) const;
};

/// Parses and checks: names and label syntax, escapes, numbers, one TYPE and HELP per
/// family before its samples, each family's samples together, no duplicate series,
/// non-negative counters, and whole histograms (ascending `le`, cumulative counts, a
/// `+Inf` bucket equal to `_count`, a `_sum`).
prometheus_text parse_prometheus_text(std::string_view text);

} // namespace rundun::test

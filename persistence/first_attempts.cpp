#include "persistence/first_attempts.hpp"

#include <bit>

namespace rundun::persistence {

namespace {

constexpr std::uint64_t block_of(std::uint64_t seq) {
  return seq >> 6;
}
constexpr std::uint64_t bit_of(std::uint64_t seq) {
  return std::uint64_t{1} << (seq & 63);
}

} // namespace

std::uint64_t first_attempts::waiting_set::lowest() const {
  auto& [block, bits] = *blocks.begin();
  return block << 6 | static_cast<std::uint64_t>(std::countr_zero(bits));
}

void first_attempts::add(std::string_view endpoint, std::uint64_t seq) {
  auto it = waiting_.find(std::string(endpoint));
  if (it == waiting_.end())
    it = waiting_.emplace(std::string(endpoint), waiting_set{}).first;
  auto& w = it->second;
  auto old_mark = w.count ? std::optional<std::uint64_t>{w.lowest()} : std::nullopt;
  auto& bits = w.blocks[block_of(seq)];
  if (bits & bit_of(seq))
    return;
  bits |= bit_of(seq);
  ++w.count;
  if (old_mark && *old_mark <= seq)
    return;
  if (old_mark)
    marks_.erase({*old_mark, it->first});
  marks_.insert({seq, it->first});
}

void first_attempts::remove(std::string_view endpoint, std::uint64_t seq) {
  auto it = waiting_.find(std::string(endpoint));
  if (it == waiting_.end())
    return;
  auto& w = it->second;
  auto block = w.blocks.find(block_of(seq));
  if (block == w.blocks.end() || !(block->second & bit_of(seq)))
    return;
  auto old_mark = w.lowest();
  block->second &= ~bit_of(seq);
  if (!block->second)
    w.blocks.erase(block);
  --w.count;
  if (seq != old_mark)
    return;
  marks_.erase({old_mark, it->first});
  if (!w.count) {
    waiting_.erase(it);
    return;
  }
  marks_.insert({w.lowest(), it->first});
}

bool first_attempts::contains(std::string_view endpoint, std::uint64_t seq) const {
  auto it = waiting_.find(std::string(endpoint));
  if (it == waiting_.end())
    return false;
  auto block = it->second.blocks.find(block_of(seq));
  return block != it->second.blocks.end() && (block->second & bit_of(seq));
}

std::vector<std::uint64_t> first_attempts::first(std::string_view endpoint, std::uint64_t from,
                                                 std::size_t limit) const {
  std::vector<std::uint64_t> out;
  auto it = waiting_.find(std::string(endpoint));
  if (it == waiting_.end())
    return out;
  auto& blocks = it->second.blocks;
  for (auto b = blocks.lower_bound(block_of(from)); b != blocks.end() && out.size() < limit; ++b) {
    auto bits = b->second;
    if (b->first == block_of(from))
      bits &= ~(bit_of(from) - 1); // the numbers below `from` in its block
    for (; bits && out.size() < limit; bits &= bits - 1)
      out.push_back(b->first << 6 | static_cast<std::uint64_t>(std::countr_zero(bits)));
  }
  return out;
}

std::size_t first_attempts::count(std::string_view endpoint) const {
  auto it = waiting_.find(std::string(endpoint));
  return it == waiting_.end() ? 0 : it->second.count;
}

std::vector<std::string> first_attempts::endpoints() const {
  std::vector<std::string> out;
  out.reserve(waiting_.size());
  for (auto& [endpoint, w] : waiting_)
    out.push_back(endpoint);
  return out;
}

std::optional<std::uint64_t> first_attempts::mark(std::string_view endpoint) const {
  auto it = waiting_.find(std::string(endpoint));
  if (it == waiting_.end())
    return std::nullopt;
  return it->second.lowest();
}

std::optional<std::uint64_t> first_attempts::low_water_mark() const {
  if (marks_.empty())
    return std::nullopt;
  return marks_.begin()->first;
}

} // namespace rundun::persistence

#include "actors/delivery_queue.hpp"

namespace rundun {

delivery_queue::delivery_queue(std::size_t concurrency, std::size_t window)
    : concurrency_(concurrency), window_(window) {}

delivery_queue::order_key delivery_queue::key_of(const delivery_job& j) {
  return {to_unix_ms(j.due), j.seq, j.id.value};
}

bool delivery_queue::in_run_order(const delivery_job& j) {
  return (j.attempts == 0 && !j.redelivery) || j.recovery;
}

bool delivery_queue::add(delivery_job job) {
  if (full() || contains(job.id))
    return false;
  waiting_.insert(key_of(job));
  if (in_run_order(job))
    first_order_[job.run].emplace(job.seq, job.id);
  auto id = job.id;
  jobs_.emplace(std::move(id), entry{std::move(job), false});
  return true;
}

bool delivery_queue::sending(const event_id& id) const {
  auto it = jobs_.find(id);
  return it != jobs_.end() && it->second.in_flight;
}

bool delivery_queue::held(const event_id& id) const {
  auto it = jobs_.find(id);
  return it != jobs_.end() && it->second.held;
}

void delivery_queue::hold(const event_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.in_flight || it->second.held)
    return;
  waiting_.erase(key_of(it->second.job));
  it->second.held = true;
}

bool delivery_queue::add_held(delivery_job job) {
  if (contains(job.id))
    return false;
  if (in_run_order(job))
    first_order_[job.run].emplace(job.seq, job.id);
  auto id = job.id;
  jobs_.emplace(std::move(id), entry{std::move(job), false, true});
  return true;
}

void delivery_queue::release(const event_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.held)
    return;
  it->second.held = false;
  waiting_.insert(key_of(it->second.job));
}

void delivery_queue::withdraw(const event_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.in_flight)
    return;
  waiting_.erase(key_of(it->second.job));
  forget(it->second.job);
  jobs_.erase(it);
}

bool delivery_queue::waits_for_first_attempt(const delivery_job& j) const {
  if (!in_run_order(j))
    return false;
  // A first attempt goes only when it is its run's oldest unsent event and no other first
  // attempt of that run is in flight.
  if (first_in_flight_.count(j.run))
    return true;
  auto it = first_order_.find(j.run);
  return it == first_order_.end() || it->second.begin()->second != j.id;
}

std::vector<delivery_job*> delivery_queue::take_ready(time_point now) {
  std::vector<delivery_job*> out;
  auto now_ms = to_unix_ms(now);
  for (auto it = waiting_.begin(); it != waiting_.end() && in_flight_ < concurrency_;) {
    if (std::get<0>(*it) > now_ms)
      break;
    auto& e = jobs_.at(event_id{std::get<2>(*it)});
    if (waits_for_first_attempt(e.job)) {
      ++it;
      continue;
    }
    if (in_run_order(e.job))
      first_in_flight_.insert(e.job.run);
    e.in_flight = true;
    ++in_flight_;
    out.push_back(&e.job);
    it = waiting_.erase(it);
  }
  return out;
}

void delivery_queue::release_first(const run_id& run) {
  first_in_flight_.erase(run);
}

void delivery_queue::forget(const delivery_job& j) {
  if (auto it = first_order_.find(j.run); it != first_order_.end()) {
    it->second.erase(j.seq);
    if (it->second.empty())
      first_order_.erase(it);
  }
}

std::optional<std::unordered_map<event_id, delivery_queue::entry>::iterator>
delivery_queue::land(const event_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.in_flight)
    return std::nullopt;
  it->second.in_flight = false;
  --in_flight_;
  return it;
}

void delivery_queue::put_back(const event_id& id, time_point due) {
  auto it = land(id);
  if (!it)
    return;
  auto& e = (*it)->second;
  if (in_run_order(e.job))
    release_first(e.job.run);
  e.job.due = due;
  waiting_.insert(key_of(e.job));
}

void delivery_queue::finish(const event_id& id, std::optional<time_point> retry_at) {
  auto landed = land(id);
  if (!landed)
    return;
  auto it = *landed;
  auto& e = it->second;
  bool was_first = in_run_order(e.job);
  ++e.job.attempts;
  if (was_first) {
    release_first(e.job.run);
    forget(e.job);
  }
  e.job.redelivery = false;
  e.job.recovery = false;
  if (retry_at) {
    e.job.due = *retry_at;
    waiting_.insert(key_of(e.job));
  } else {
    jobs_.erase(it);
  }
}

delivery_job* delivery_queue::find(const event_id& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.job;
}

template <class Pick>
std::vector<delivery_job> delivery_queue::remove_if(Pick pick) {
  std::vector<delivery_job> out;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (!it->second.in_flight && pick(it->second)) {
      waiting_.erase(key_of(it->second.job));
      forget(it->second.job);
      out.push_back(std::move(it->second.job));
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<delivery_job> delivery_queue::remove_run(const run_id& run) {
  // A held job's event is not durable yet: it is failed at its commit (on_deliver).
  return remove_if([&](const entry& e) { return e.job.run == run && !e.held; });
}

std::vector<delivery_job>
delivery_queue::remove_waiting(const std::function<bool(const delivery_job&)>& keep) {
  return remove_if([&](const entry& e) { return !e.held && !keep(e.job); });
}

std::optional<event_id> delivery_queue::evict_later_than(time_point due, std::uint64_t seq) {
  if (waiting_.empty())
    return std::nullopt;
  auto last = std::prev(waiting_.end());
  if (std::make_tuple(std::get<0>(*last), std::get<1>(*last)) <=
      std::make_tuple(to_unix_ms(due), seq))
    return std::nullopt;
  event_id id{std::get<2>(*last)};
  waiting_.erase(last);
  auto it = jobs_.find(id);
  forget(it->second.job);
  jobs_.erase(it);
  return id;
}

std::optional<time_point> delivery_queue::next_due_after(time_point now) const {
  // Past every key of the millisecond `now`: (now, max seq, any id).
  order_key bound{to_unix_ms(now) + 1, 0, std::string{}};
  auto it = waiting_.lower_bound(bound);
  if (it == waiting_.end())
    return std::nullopt;
  return from_unix_ms(std::get<0>(*it));
}

} // namespace rundun

#include "actors/attempt_verdict.hpp"

namespace rundun {

attempt_verdict judge_attempt(const attempt_result& r, int round_failures, bool webhook_off,
                              const net::retry_schedule& schedule, double jitter, time_point now) {
  net::attempt_outcome outcome;
  if (r.status != 0)
    outcome.status = r.status;
  outcome.retry_after = r.retry_after;
  bool success = r.status >= 200 && r.status < 300;
  int failures = round_failures + (success ? 0 : 1);
  auto decision = net::decide_retry(schedule, failures, outcome, jitter);
  if (decision.what == net::verdict::retry && webhook_off)
    decision.what = net::verdict::gone;

  attempt_verdict v;
  v.what = decision.what;
  attempt_record a;
  a.attempt = r.attempt;
  a.at = r.at;
  if (r.status != 0)
    a.status_code = r.status;
  if (!r.error.empty())
    a.error = r.error;
  else if (!success)
    a.error = "http status " + std::to_string(r.status);
  a.duration_ms = r.duration_ms;

  auto& s = v.step;
  s.attempt = std::move(a);
  s.round_failures = round_failures;
  switch (decision.what) {
  case net::verdict::delivered:
    s.status = delivery_status::delivered;
    break;
  case net::verdict::retry:
    v.retry_at = now + decision.delay;
    s.status = delivery_status::pending;
    s.next_attempt_at = v.retry_at;
    s.round_failures = failures;
    break;
  case net::verdict::failed:
    s.status = delivery_status::failed;
    break;
  case net::verdict::gone:
    s.status = delivery_status::failed;
    s.error = "endpoint_gone";
    break;
  }
  return v;
}

} // namespace rundun

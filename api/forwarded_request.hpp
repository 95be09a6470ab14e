#pragma once

// A request forwarded between cluster nodes, and the owner's answer, as they turn into Beast
// messages and back (contract §9). A peer is trusted no more than a client: a forwarded
// request is held to the limits the HTTP server holds a direct client to, and a peer's answer
// must be valid HTTP before it goes to a client, so that nothing a peer sends makes Beast
// throw. Pure: no socket, no actor. cluster_front calls it on the API's io threads (the
// requests it runs for a peer) and on the cluster's actor threads (the answers it gets).

#include "actors/cluster.hpp"
#include "actors/specs.hpp"
#include "api/request_parsing.hpp"
#include "net/http_server.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace rundun::api {

/// The largest body a peer's answer may carry. The largest legitimate answer is a run's view:
/// up to `max_steps` steps, each holding an answer as large as a request body may be, and
/// somewhat larger once re-serialised; a photo (`max_photo_body`) is smaller. A bound at the
/// photo limit would turn such a run, read through another node, into a 503: this one refuses
/// only what no router of ours sends.
inline constexpr std::uint64_t max_answer_body = std::uint64_t{256} << 20;
static_assert(max_answer_body >= max_steps * max_api_body + max_photo_body);

/// The header section of a peer's answer at most (status line, fields, blank line). The
/// router's answers carry a few short headers; the server's limit for a request's is ample.
inline constexpr std::size_t max_answer_header_bytes = net::default_max_header_bytes;

/// A forwarded request as the router takes it, or the answer that refuses it.
using forwarded_request_result = std::variant<net::http_request, cluster::forwarded_response>;

/// Turns a request another node forwarded back into the request the router takes, after
/// holding it to the HTTP server's limits, with the answers the server gives a direct client:
/// - `400 malformed_request`: a method that is not a known HTTP method, a target that does not
///   start with '/' or holds a space or a control character, a header name that is not a
///   token, a header value with a control character (CR, LF, NUL, …; a tab is allowed);
/// - `431 headers_too_large`: the header section as it would arrive (request line, every
///   `name: value` line, the blank line) over `net::default_max_header_bytes`;
/// - `413 body_too_large`: a body over `request_body_limit(target)` (photo uploads 10 MiB,
///   the rest 1 MiB).
/// Hop-by-hop headers (Connection, Content-Length, …) are dropped: each hop sets its own.
/// Never throws: Beast is never handed what it throws on, and anything it might still throw
/// is answered `400 malformed_request`.
forwarded_request_result request_from_forwarded(cluster::forwarded_request&& f);

/// Why a peer's answer cannot go to a client as it is, or none when it can: a status outside
/// 200–599 (an interim 1xx is no final answer), a body with a 204 or 304, a header name that
/// is not a token, a header value with a control character, headers over
/// `max_answer_header_bytes`, a body over `max_answer_body`. The reason names what was wrong;
/// of what the peer sent, it quotes at most the status and a header's name.
std::optional<std::string> answer_problem(const cluster::forwarded_response& f);

/// Why a peer's answer was refused (see `answer_problem`).
struct invalid_answer {
  std::string reason;
};

/// A peer's answer as the response for this node's client, without hop-by-hop headers, or why
/// it cannot be one. Never throws. The caller answers an invalid one as the owner failing to
/// answer (`503 node_unavailable`, see `cluster_front::answer_from_peer`).
std::variant<net::http_response, invalid_answer>
response_from_forwarded(cluster::forwarded_response&& f);

/// A request as it travels to its owner: method, target, end-to-end headers and body.
cluster::forwarded_request to_forwarded(net::http_request&& req);

/// The owner's answer as it travels back: status, end-to-end headers and body.
cluster::forwarded_response to_forwarded(net::http_response&& res);

} // namespace rundun::api

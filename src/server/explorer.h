// The live explorer page `glassbox serve` serves at GET /.
#pragma once

namespace httplib {
class Server;
}

namespace glassbox::server {

struct ServerContext;

// Registers the explorer's routes (GET / and whatever it needs besides the
// /v1/ API). Called once, from the server's route registration.
void add_explorer_routes(httplib::Server& http, const ServerContext& ctx);

}  // namespace glassbox::server

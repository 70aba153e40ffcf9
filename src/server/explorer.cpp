#include "server/explorer.h"

#include <httplib.h>

#include "glassbox/server/api.h"

namespace glassbox::server {

void add_explorer_routes(httplib::Server& http, const ServerContext& ctx) {
  (void)ctx;
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("glassbox serve: the OpenAI-compatible API is under /v1/ (the explorer page comes here)\n",
                    "text/plain");
  });
}

}  // namespace glassbox::server

// The live explorer page `glassbox serve` shows at GET /: type a prompt, see
// attention patterns by layer and head, the logit lens and direct logit
// attribution for a chosen answer, and generate with a profile (a steering
// coefficient slider, a named profile or edited JSON) through /v1/completions.
//
// The page (explorer.html + explorer.js beside this file) is compiled into
// the binary by explorer.cmake; the vega builds are inlined from the report
// assets (share/glassbox/web, found as reports find them), so the page works
// with no network. Its charts are the report library's specs (pages/charts.h),
// built by these endpoints, under /v1/ so an --api-key guards them as it
// guards the rest of the API:
//   GET  /v1/glassbox/explorer/info       model shape, example prompts, named profiles (their JSON),
//                                          the directions shipped beside the model
//   POST /v1/glassbox/explorer/analyze    {prompt, answer?, wrong?} -> tokens, lens and DLA specs
//   POST /v1/glassbox/explorer/attention  {prompt, layer, head}     -> one head's pattern as a heatmap spec
//   POST /v1/glassbox/explorer/dla        {prompt, answer?, wrong?} -> DLA specs (answer: the prediction)
//   POST /v1/glassbox/explorer/steering   {direction: NAME | contrast: {positive, negative}, layer, coefficient}
//                                          -> a profile: one add_vector and a projection monitor
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/model.h"
#include "glassbox/steering/direction.h"

namespace glassbox::server {

struct ServerContext;

// The POST endpoints above, which the server answers as its other analysis
// endpoints (under --max-concurrent, errors in OpenAI's shape); GET / and
// GET .../info it registers itself.
using ExplorerHandler = nlohmann::json (*)(const ServerContext&, const nlohmann::json&);
struct ExplorerEndpoint {
  const char* path;
  ExplorerHandler handler;
};
const std::vector<ExplorerEndpoint>& explorer_endpoints();

// The page with the report stylesheet and the vega builds inlined; Error when
// the web assets are missing (naming scripts/fetch-web-assets.sh).
std::string explorer_page_html();

// The directions shipped beside the model (<model dir>/directions/*.json,
// glassbox.steering format) that fit it, by file name; a file that does not
// parse or fit is left out (the page offers what works).
std::vector<steering::SteeringVector> shipped_directions(const Model& m);

// What the endpoints answer, without HTTP. Errors (glassbox::Error) start
// with the request field they are about, as the other endpoints' do.
nlohmann::json explorer_info_json(const ServerContext& ctx);
nlohmann::json explorer_analyze_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json explorer_attention_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json explorer_dla_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json explorer_steering_json(const ServerContext& ctx, const nlohmann::json& body);

}  // namespace glassbox::server

// Harvesting from Python: `glassbox harvest` as a function, and a harvest
// directory read back: each shard's tensors as numpy views of the mapped file
// (no copy, in the harvest's dtype), or all rows of some sites as float32.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bind.h"
#include "glassbox/error.h"
#include "glassbox/features/harvest.h"
#include "glassbox/features/shards.h"

namespace glassbox::py {

namespace {

using namespace glassbox::features;

struct PyHarvest {
  std::string dir;
  std::unique_ptr<ShardStream> stream;  // every site; verify_sha256 as asked
};

}  // namespace

void bind_harvest(pyb::module_& m) {
  m.def("harvest",
        [](const std::vector<std::string>& models, const std::vector<std::string>& hooks, const std::string& corpus,
           const std::string& out, int context, int batch, int64_t max_tokens, const std::string& dtype,
           int64_t shard_tokens, bool prepend_bos, bool exclude_bos, int bos_id) {
          HarvestOptions ho;
          ho.models = models;
          ho.hooks = hooks;
          ho.corpus = corpus;
          ho.stream.context = context;
          ho.stream.batch = batch;
          ho.stream.max_tokens = max_tokens;
          ho.stream.prepend_bos = prepend_bos;
          ho.stream.exclude_bos = exclude_bos;
          ho.stream.bos_id = bos_id;
          ho.dtype = from_string<DType>(dtype);
          ho.shard_rows = shard_tokens;
          ho.out_dir = out;
          const HarvestResult r = [&] {
            pyb::gil_scoped_release release;
            return features::harvest(ho);
          }();
          // The fields of `glassbox harvest --json`.
          return from_json({{"out", out},
                            {"rows", r.rows},
                            {"shards", r.shards_total},
                            {"shards_written", r.shards_written},
                            {"shards_kept", r.shards_kept},
                            {"seconds", r.seconds},
                            {"manifest", r.manifest}});
        },
        pyb::arg("models"), pyb::arg("hooks"), pyb::arg("corpus"), pyb::arg("out"), pyb::arg("context"),
        pyb::arg("batch"), pyb::arg("max_tokens"), pyb::arg("dtype"), pyb::arg("shard_tokens"),
        pyb::arg("prepend_bos"), pyb::arg("exclude_bos"), pyb::arg("bos_id"));

  pyb::class_<PyHarvest>(m, "Harvest", "A harvest directory (glassbox harvest) read back")
      .def(pyb::init([](const std::filesystem::path& dir, bool verify, bool allow_incomplete) {
             ShardStreamOptions o;
             o.verify_sha256 = verify;
             o.allow_incomplete = allow_incomplete;
             return PyHarvest{dir.string(), std::make_unique<ShardStream>(dir.string(), std::vector<std::string>{}, o)};
           }),
           pyb::arg("dir"), pyb::arg("verify") = true, pyb::arg("allow_incomplete") = false)
      .def_readonly("dir", &PyHarvest::dir)
      .def_property_readonly("manifest", [](const PyHarvest& h) { return from_json(h.stream->manifest()); })
      .def_property_readonly("sites", [](const PyHarvest& h) { return h.stream->site_names(); })
      .def_property_readonly("dims", [](const PyHarvest& h) { return h.stream->dims(); })
      .def_property_readonly("n_shards", [](const PyHarvest& h) { return h.stream->n_shards(); })
      .def_property_readonly("rows", [](const PyHarvest& h) { return h.stream->total_rows(); })
      .def("shard",
           [](PyHarvest& h, int64_t k) {
             const std::shared_ptr<const SafetensorsFile> f = h.stream->shard_file(k);
             pyb::dict d;
             for (const RawTensor& t : f->tensors())
               d[pyb::str(t.name)] = array_view(f, t.data, t.dtype, t.shape,
                                                "shard " + std::to_string(k) + " of " + h.dir + ": " + t.name, false);
             return d;
           },
           pyb::arg("k"),
           "Shard k's tensors {site: [rows, dim], \"tokens\": [rows]} as read-only views of the mapped file (no "
           "copy; bf16 as raw uint16 bits, see glassbox.bf16_to_float32)")
      .def("read",
           [](PyHarvest& h, const std::vector<std::string>& sites, int64_t max_rows) {
             ShardStream& s = *h.stream;
             std::vector<size_t> pick;
             for (const std::string& name : sites.empty() ? s.site_names() : sites) {
               const auto& n = s.site_names();
               const auto it = std::find(n.begin(), n.end(), name);
               if (it == n.end()) fail(h.dir, ": the harvest has no site '", name, "'");
               pick.push_back(size_t(it - n.begin()));
             }
             const int64_t rows = max_rows > 0 ? std::min(max_rows, s.total_rows()) : s.total_rows();
             std::vector<pyb::array_t<float>> out;
             std::vector<float*> dst;
             for (size_t p : pick) {
               out.emplace_back(std::vector<pyb::ssize_t>{pyb::ssize_t(rows), pyb::ssize_t(s.dims()[p])});
               dst.push_back(out.back().mutable_data());
             }
             pyb::array_t<int32_t> tokens(rows);
             int32_t* tok = tokens.mutable_data();
             bool have_tokens = true;
             {
               pyb::gil_scoped_release release;
               s.rewind();
               ActivationBatch b;
               int64_t done = 0;
               while (done < rows) {
                 const int64_t n = s.next(b, rows - done);
                 if (n == 0) fail(h.dir, ": the shards ended after ", done, " of ", rows, " rows");
                 for (size_t i = 0; i < pick.size(); ++i) {
                   const int64_t d = s.dims()[pick[i]];
                   std::copy(b.sites[pick[i]].begin(), b.sites[pick[i]].end(), dst[i] + done * d);
                 }
                 if (b.tokens.empty()) have_tokens = false;
                 else std::copy(b.tokens.begin(), b.tokens.end(), tok + done);
                 done += n;
               }
               s.rewind();
             }
             pyb::dict d;
             for (size_t i = 0; i < pick.size(); ++i) d[pyb::str(s.site_names()[pick[i]])] = out[i];
             if (have_tokens) d["tokens"] = tokens;
             return d;
           },
           pyb::arg("sites") = std::vector<std::string>{}, pyb::arg("max_rows") = 0,
           "All rows (or the first max_rows) of the sites as float32 arrays {site: [rows, dim], \"tokens\": [rows]} "
           "(a copy: shards are concatenated and converted)")
      .def("__repr__", [](const PyHarvest& h) {
        return "<glassbox.Harvest " + h.dir + ": " + std::to_string(h.stream->total_rows()) + " rows in " +
               std::to_string(h.stream->n_shards()) + " shards>";
      });
}

}  // namespace glassbox::py

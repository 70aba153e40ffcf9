// _glassbox: the compiled half of `import glassbox` (python/glassbox/ is the
// other). glassbox::Error becomes glassbox.GlassboxError with the same message.
#include "bind.h"
#include "glassbox/error.h"

PYBIND11_MODULE(_glassbox, m) {
  namespace gp = glassbox::py;
  m.doc() = "glassbox engine bindings (use the glassbox package, not this module)";
  pybind11::register_exception<glassbox::Error>(m, "GlassboxError", PyExc_RuntimeError);
  gp::bind_hook_point(m);
  gp::bind_model(m);
  gp::bind_analysis(m);
  gp::bind_features(m);
  gp::bind_sae(m);
  gp::bind_harvest(m);
  gp::bind_knowledge(m);
  gp::bind_acting(m);
  gp::bind_compare(m);
}

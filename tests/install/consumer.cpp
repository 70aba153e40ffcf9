// Runs from <prefix>/bin like an installed application: the shipped model must
// be found under <prefix>/share/glassbox with no environment help, then load
// and run. argv[1] is the prefix.
#include <cstdio>
#include <string>

#include <glassbox/engine.h>
#include <glassbox/error.h>
#include <glassbox/model.h>
#include <glassbox/resources.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string prefix = argv[1];
  try {
    const std::string models = glassbox::resource_dir(glassbox::kModelsResource);
    if (models.rfind(prefix, 0) != 0) {
      std::fprintf(stderr, "models found at %s, not under %s\n", models.c_str(), prefix.c_str());
      return 1;
    }
    const glassbox::Model m = glassbox::Model::load(glassbox::zoo::default_model());
    glassbox::Engine e(m);
    const auto ids = m.tokenizer()->encode("When Mary and John went to the store");
    const glassbox::Tensor logits = e.logits(glassbox::Batch::single(ids));
    std::printf("%s: %s, %d layers, logits %s\n", models.c_str(), glassbox::to_string(m.config().norm),
                m.config().n_layers, glassbox::shape_str(logits.shape).c_str());
  } catch (const glassbox::Error& err) {
    std::fprintf(stderr, "%s\n", err.what());
    return 1;
  }
  return 0;
}

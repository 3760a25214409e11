// Base-architecture detection: everything of include/inferconf/detect/, for
// callers that use several of its parts. Each part has its own header:
//   detect/safetensors.hpp         the strict header reader
//   detect/safetensors_writer.hpp  writing headers (the demo's sparse checkpoints, tests)
//   detect/rules.hpp               the rule set (detection_rules.json, base_model_labels.json)
//   detect/names.hpp               verdicts from labels, names and metadata
//   detect/classify.hpp            classification of one header
//   detect/detect_files.hpp        many files in parallel, in input order
//   detect/inference.hpp           the evidence of a registry record
#pragma once

#include "inferconf/detect/classify.hpp"
#include "inferconf/detect/detect_files.hpp"
#include "inferconf/detect/inference.hpp"
#include "inferconf/detect/names.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/detect/safetensors.hpp"
#include "inferconf/detect/safetensors_writer.hpp"

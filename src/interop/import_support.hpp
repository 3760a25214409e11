// Shared by the infotext and ComfyUI importers: assembling a CreateDTO for a
// base model, where every value that is not taken as given leaves a note.
#pragma once

#include <set>
#include <string>

#include "inferconf/interop/png_text.hpp"
#include "inferconf/interop/preset_import.hpp"

namespace inferconf::interop {

class PresetBuilder {
 public:
  // Throws Error(kInvalid) for a missing/unknown base model or type.
  PresetBuilder(const PresetImportOptions& options, const Catalog& catalog, const EngineVocabulary& vocabulary,
                std::string source);

  const BaseModelSpec& base() const { return *base_; }
  const Preset& preset() const { return *preset_; }
  ImportResult& result() { return result_; }
  bool knows(std::string_view param) const;  // a model_specific_params key of the base model
  // Whether a value a ComfyUI graph loads becomes a parameter: files
  // (requires_vae, text_encoder) only when the preset names such a file or the
  // graph loads another file than the one inferconf's export would.
  bool adopts(std::string_view param, const nlohmann::json& value) const;

  void set_param(const std::string& key, nlohmann::json value) { result_.dto.model_specific_params[key] = std::move(value); }
  void note(std::string key, std::string value, std::string kind, std::string message) {
    result_.notes.push_back({std::move(key), std::move(value), std::move(kind), std::move(message)});
  }

  // Canonical sampler/scheduler for a name an engine wrote; A1111-only names
  // take their documented substitute when allowed (noted), else throw.
  std::string sampler(const std::string& given, std::string_view key);
  std::string scheduler(const std::string& given, std::string_view key);

  // model_id from the options, else `written`; throws when both are empty.
  void set_model_id(const std::string& written, std::string_view where);
  // Splits the base's prompt_prefix off the prompt when it starts with it.
  void take_prompt(std::string prompt, std::string negative_prompt);
  // Fills every preset value the source did not set (noted as defaulted).
  ImportResult finish();

 private:
  const PresetImportOptions& options_;
  const Catalog& catalog_;
  const EngineVocabulary& vocabulary_;
  const BaseModelSpec* base_ = nullptr;
  const Preset* preset_ = nullptr;
  ImportResult result_;
  bool steps_set_ = false, cfg_set_ = false, sampler_set_ = false, scheduler_set_ = false;

  friend void set_core(PresetBuilder& b, std::optional<int> steps, std::optional<double> cfg,
                       std::optional<std::string> sampler, std::optional<std::string> scheduler);
};

// Records the core fields that the source gave.
void set_core(PresetBuilder& b, std::optional<int> steps, std::optional<double> cfg, std::optional<std::string> sampler,
              std::optional<std::string> scheduler);

// Strict number parsing of a whole string; nullopt when it is not one.
std::optional<double> parse_number(std::string_view s);
std::optional<long long> parse_integer(std::string_view s);

}  // namespace inferconf::interop

// Engine interop: resolved parameters exported as requests ComfyUI,
// AUTOMATIC1111/Forge and diffusers accept, and presets imported back from the
// A1111 "infotext" and ComfyUI graphs that images carry in their PNG metadata.
//
// The name translations are data (catalog/engine_vocabulary.json, read by
// EngineVocabulary). A translation the target engine has no equivalent for is
// an error unless the caller allows the documented substitute, which is then
// reported; nothing is substituted silently. See docs/INTEROP.md.
//
// One header per concept under inferconf/interop/; this one includes them all.
#pragma once

#include "inferconf/interop/engine_vocabulary.hpp"
#include "inferconf/interop/export.hpp"
#include "inferconf/interop/infotext.hpp"
#include "inferconf/interop/png_text.hpp"
#include "inferconf/interop/preset_import.hpp"

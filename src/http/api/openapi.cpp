// The OpenAPI 3.1 document. Written as JSON text so it reads like the spec it
// is; tests/http check it names every route of the route table, every field
// of every DTO and every problem type.
#include "http/api/openapi.hpp"

#include "http/api/problem.hpp"

namespace inferconf::http {

namespace {

constexpr const char* kDocument = R"json({
  "openapi": "3.1.0",
  "info": {
    "title": "inferconf",
    "version": "0.1.0",
    "summary": "Inference presets (quality/speed) of diffusion models: store, validate, resolve.",
    "description": "Reads are open unless the server runs with --auth-reads; writes need `Authorization: Bearer <token>`. Errors are RFC 9457 problem documents. See docs/HTTP_API.md."
  },
  "servers": [{"url": "http://127.0.0.1:8080"}],
  "security": [{}, {"bearer": []}],
  "paths": {
    "/v1/configurations": {
      "get": {
        "operationId": "listConfigurations",
        "summary": "List configurations, filtered, one page at a time.",
        "parameters": [
          {"name": "model_id", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
          {"name": "base_model", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
          {"$ref": "#/components/parameters/ConfigurationTypeQuery"},
          {"$ref": "#/components/parameters/Limit"},
          {"$ref": "#/components/parameters/Cursor"}
        ],
        "responses": {
          "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConfigurationPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      },
      "post": {
        "operationId": "createConfiguration",
        "summary": "Create a configuration (validated against the catalogue).",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfigurationCreate"}}}},
        "responses": {
          "201": {"description": "Created.", "headers": {"Location": {"$ref": "#/components/headers/Location"}, "ETag": {"$ref": "#/components/headers/ETag"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfiguration"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/ValidationError"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/configurations/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "get": {
        "operationId": "getConfiguration",
        "summary": "One configuration; If-None-Match answers 304 when unchanged.",
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
          "200": {"description": "The configuration.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfiguration"}}}},
          "304": {"description": "Not modified since the given ETag.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "patch": {
        "operationId": "updateConfiguration",
        "summary": "Update fields; model_specific_params is a JSON Merge Patch (null deletes a key).",
        "security": [{"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
        "requestBody": {"required": true, "content": {
          "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/InferenceConfigurationUpdate"}},
          "application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfigurationUpdate"}}}},
        "responses": {
          "200": {"description": "The updated configuration.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfiguration"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/ValidationError"},
          "428": {"$ref": "#/components/responses/PreconditionRequired"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "delete": {
        "operationId": "deleteConfiguration",
        "summary": "Delete a configuration.",
        "security": [{"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
        "responses": {
          "204": {"description": "Deleted."},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "428": {"$ref": "#/components/responses/PreconditionRequired"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/models/{model_id}/configurations": {
      "parameters": [{"$ref": "#/components/parameters/ModelId"}],
      "get": {
        "operationId": "findByModelId",
        "summary": "Every configuration of a model (the seed's find_by_model_id), ordered by type.",
        "parameters": [{"$ref": "#/components/parameters/ConfigurationTypeQuery"}],
        "responses": {
          "200": {"description": "The model's configurations (possibly none).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConfigurationList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/models/{model_id}/configurations/{configuration_type}": {
      "parameters": [{"$ref": "#/components/parameters/ModelId"},
                     {"name": "configuration_type", "in": "path", "required": true, "schema": {"type": "string"}, "example": "quality"}],
      "get": {
        "operationId": "findByModelAndType",
        "summary": "A model's configuration of one type (the seed's find_by_model_and_type).",
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
          "200": {"description": "The configuration.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceConfiguration"}}}},
          "304": {"description": "Not modified since the given ETag.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/base-models": {
      "get": {
        "operationId": "listBaseModels",
        "summary": "The catalogue: configuration types and every base model.",
        "responses": {
          "200": {"description": "The catalogue.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Catalog"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/base-models/{base_model}": {
      "parameters": [{"$ref": "#/components/parameters/BaseModel"}],
      "get": {
        "operationId": "getBaseModel",
        "summary": "One catalogue entry with its constraints, presets and variants.",
        "responses": {
          "200": {"description": "The base model.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BaseModel"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/base-models/{base_model}/configurations": {
      "parameters": [{"$ref": "#/components/parameters/BaseModel"}],
      "get": {
        "operationId": "findByBaseModel",
        "summary": "Configurations of every model of a base model (the seed's find_by_base_model), by (model_id, type).",
        "parameters": [{"$ref": "#/components/parameters/ConfigurationTypeQuery"},
                       {"$ref": "#/components/parameters/Limit"},
                       {"$ref": "#/components/parameters/Cursor"}],
        "responses": {
          "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConfigurationPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/resolve": {
      "post": {
        "operationId": "resolve",
        "summary": "The effective parameters of a generation request: base-model preset < stored configuration < overrides; with ?format=, the same as an engine's request.",
        "parameters": [
          {"name": "format", "in": "query", "required": false, "schema": {"enum": ["comfyui", "a1111", "diffusers", "infotext"]},
           "description": "The query is either empty or exactly format=VALUE: any other parameter, a repeated one, or a query without format (such as ?&) answers 400. Export the resolved parameters: a ComfyUI API prompt, an AUTOMATIC1111/Forge txt2img body, a diffusers pipeline description, or A1111 infotext (text/plain when the Accept header asks for it). The answer is an ExportResult; the body may carry an export object."}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResolveRequest"}}}},
        "responses": {
          "200": {"description": "The parameters and where each came from; with ?format=, the engine request.", "content": {
            "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/ResolvedParameters"}, {"$ref": "#/components/schemas/ExportResult"}]}},
            "text/plain": {"schema": {"type": "string"}, "description": "?format=infotext with Accept: text/plain: the A1111 parameters text."}}},
          "406": {"description": "The Accept header admits no representation of the export.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
          "500": {"$ref": "#/components/responses/InternalError"},
          "503": {"description": "The store cannot be reached (Retry-After), or, for ?format=, the server has no engine vocabulary, so it cannot export.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"description": "The request is invalid, or the overrides break the architecture's rules (every problem in errors; the parameters in resolved), or (not-exportable) the engine of ?format= cannot render the architecture or has no equivalent of a sampler/scheduler.",
                  "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        }
      }
    },
    "/healthz": {
      "get": {"operationId": "healthz", "summary": "The process is alive.", "security": [{}],
              "responses": {"200": {"description": "Alive.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}
    },
    "/readyz": {
      "get": {"operationId": "readyz", "summary": "The store answers and the server takes requests.", "security": [{}],
              "responses": {"200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
                            "503": {"$ref": "#/components/responses/Unavailable"}}}
    },
    "/metrics": {
      "get": {"operationId": "metrics", "summary": "Prometheus text exposition.", "security": [{}],
              "responses": {"200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
    },
    "/openapi.json": {
      "get": {"operationId": "openapi", "summary": "This document.", "security": [{}],
              "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}}}
    }
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `inferconf token new NAME`; the server's --tokens-file holds its SHA-256. Tokens marked :ro may only read."}},
    "headers": {
      "ETag": {"description": "\"<id>.<revision>\"; send it back in If-Match / If-None-Match.", "schema": {"type": "string"}},
      "Location": {"description": "The URL of the created configuration.", "schema": {"type": "string"}}
    },
    "parameters": {
      "ModelId": {"name": "model_id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
      "BaseModel": {"name": "base_model", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sdxl"},
      "ConfigurationTypeQuery": {"name": "configuration_type", "in": "query", "schema": {"type": "string"}, "example": "quality"},
      "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
      "Cursor": {"name": "cursor", "in": "query", "description": "next_cursor of the previous page, with the same filters.", "schema": {"type": "string"}},
      "IfMatch": {"name": "If-Match", "in": "header", "description": "The ETag as last read (or \"<revision>\", or *): the write happens only if the configuration is still at that revision (else 412). Required (428) when the server runs with --require-if-match.", "schema": {"type": "string"}},
      "IfNoneMatch": {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}
    },
    "responses": {
      "BadRequest": {"description": "Malformed request: bad JSON or UTF-8, bad query parameter, cursor or id.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Unauthorized": {"description": "No token, or not an accepted one.", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Forbidden": {"description": "A read-only token on a write.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "NotFound": {"description": "No such configuration, model configuration or base model.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Conflict": {"description": "The model already has a configuration of this type (existing_id names it).", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "PreconditionFailed": {"description": "If-Match names another revision.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "PreconditionRequired": {"description": "If-Match is required by this server.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "PayloadTooLarge": {"description": "The body is over 64 KiB.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "UnsupportedMediaType": {"description": "Not application/json (or application/merge-patch+json for PATCH), or not UTF-8.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "ValidationError": {"description": "The document breaks the DTO or the catalogue's rules; errors lists every problem.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "InternalError": {"description": "The server failed unexpectedly; the detail is generic and request_id names the log line with the cause.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Unavailable": {"description": "The store cannot be reached, or the server is shutting down.", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "ModelSpecificParams": {"type": "object", "description": "Architecture-specific parameters (width, height, clip_skip, guidance, video_fps, frames...); known keys are checked against GET /v1/base-models/{base_model}.", "additionalProperties": true},
      "InferenceConfiguration": {
        "type": "object", "additionalProperties": false,
        "required": ["id", "model_id", "base_model", "configuration_type", "steps", "cfg_scale", "sampler", "scheduler", "model_specific_params", "created_at", "updated_at", "revision"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "model_id": {"type": "string"},
          "base_model": {"type": "string", "example": "sdxl"},
          "configuration_type": {"type": "string", "example": "quality"},
          "steps": {"type": "integer"},
          "cfg_scale": {"type": "number"},
          "sampler": {"type": "string", "example": "dpmpp_2m"},
          "scheduler": {"type": "string", "example": "karras"},
          "model_specific_params": {"$ref": "#/components/schemas/ModelSpecificParams"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "revision": {"type": "integer", "minimum": 1}
        }
      },
      "InferenceConfigurationCreate": {
        "type": "object", "additionalProperties": false,
        "required": ["model_id", "base_model", "configuration_type", "steps", "cfg_scale", "sampler", "scheduler"],
        "properties": {
          "model_id": {"type": "string"},
          "base_model": {"type": "string"},
          "configuration_type": {"type": "string"},
          "steps": {"type": "integer"},
          "cfg_scale": {"type": "number"},
          "sampler": {"type": "string", "description": "Canonical name or an alias (normalised)."},
          "scheduler": {"type": "string"},
          "model_specific_params": {"$ref": "#/components/schemas/ModelSpecificParams"}
        }
      },
      "InferenceConfigurationUpdate": {
        "type": "object", "additionalProperties": false, "minProperties": 1,
        "properties": {
          "base_model": {"type": "string"},
          "configuration_type": {"type": "string"},
          "steps": {"type": "integer"},
          "cfg_scale": {"type": "number"},
          "sampler": {"type": "string"},
          "scheduler": {"type": "string"},
          "model_specific_params": {"type": "object", "description": "RFC 7396 merge patch: a key set to null is deleted.", "additionalProperties": true}
        }
      },
      "ConfigurationPage": {
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/InferenceConfiguration"}},
          "next_cursor": {"type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last page."}
        }
      },
      "ConfigurationList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InferenceConfiguration"}}}
      },
      "ResolveRequest": {
        "type": "object", "additionalProperties": false, "required": ["model_id", "configuration_type"],
        "properties": {
          "model_id": {"type": "string"},
          "configuration_type": {"type": "string"},
          "base_model": {"type": "string", "description": "Used when neither a stored configuration nor the registry names the model's base model."},
          "variant": {"type": "string"},
          "overrides": {"type": "object", "description": "Flat parameter names to values; null removes a model-specific parameter.", "additionalProperties": true},
          "strict": {"type": "boolean", "default": false, "description": "An override that is not a parameter of the architecture is a problem (422) rather than a note."},
          "export": {"$ref": "#/components/schemas/ExportOptions"}
        }
      },
      "ExportOptions": {
        "type": "object", "additionalProperties": false,
        "description": "Only with ?format=: what the engine request needs beyond the parameters.",
        "properties": {
          "prompt": {"type": "string", "maxLength": 16384, "description": "A preset's prompt_prefix is put in front."},
          "negative_prompt": {"type": "string", "maxLength": 16384},
          "seed": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615, "description": "Default: random in A1111, 0 in ComfyUI."},
          "checkpoint": {"type": "string", "description": "Model file name; default: the registry's file of the model, else the architecture's usual file. For a two-expert model (Wan 2.2 A14B) the high-noise expert."},
          "checkpoint_2": {"type": "string", "description": "diffusers only: the second expert's file of a two-expert model (Wan 2.2 A14B: low noise); default: the registry record's metadata.expert_files."},
          "allow_substitute": {"type": "boolean", "description": "Use the documented nearest sampler/scheduler when the engine lacks one (listed in substitutions)."}
        }
      },
      "ExportResult": {
        "type": "object", "required": ["format", "substitutions", "notes", "resolved"],
        "properties": {
          "format": {"enum": ["comfyui", "a1111", "diffusers", "infotext"]},
          "body": {"type": "object", "description": "comfyui: {prompt: {node_id: {class_type, inputs}}} for POST /prompt; a1111: the /sdapi/v1/txt2img body; diffusers: pipeline, scheduler and call kwargs.", "additionalProperties": true},
          "text": {"type": "string", "description": "infotext: the A1111 parameters text."},
          "substitutions": {"type": "array", "items": {"$ref": "#/components/schemas/Substitution"}},
          "notes": {"type": "array", "items": {"type": "string"}},
          "resolved": {"$ref": "#/components/schemas/ResolvedParameters"}
        }
      },
      "Substitution": {
        "type": "object", "required": ["field", "given", "used", "reason"],
        "properties": {"field": {"enum": ["sampler", "scheduler"]}, "given": {"type": "string"}, "used": {"type": "string"}, "reason": {"type": "string"}}
      },
      "ResolvedParameters": {
        "type": "object",
        "required": ["model_id", "configuration_type", "base_model", "variant", "configuration_id", "revision", "parameters", "sources", "problems", "normalised", "unknown_params", "notes"],
        "properties": {
          "model_id": {"type": "string"},
          "configuration_type": {"type": "string"},
          "base_model": {"type": "string"},
          "variant": {"type": ["string", "null"]},
          "configuration_id": {"type": ["string", "null"]},
          "revision": {"type": ["integer", "null"]},
          "parameters": {"type": "object", "description": "steps, cfg_scale, sampler, scheduler and every model-specific parameter, flat.", "additionalProperties": true},
          "sources": {"type": "object", "additionalProperties": {"enum": ["model", "base_model", "override"]}},
          "problems": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
          "unknown_params": {"type": "array", "items": {"type": "string"}, "description": "Overrides that are not parameters of the architecture, passed through unchecked (empty with strict: they are problems then)."},
          "notes": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}, "description": "What was passed through without a check, and why (e.g. overrides.guidance for wan_2_1)."},
          "normalised": {"type": "array", "items": {"$ref": "#/components/schemas/Normalisation"}}
        }
      },
      "Normalisation": {
        "type": "object", "required": ["field", "given", "canonical"],
        "properties": {"field": {"type": "string"}, "given": {"type": "string"}, "canonical": {"type": "string"}}
      },
      "FieldError": {
        "type": "object", "required": ["field", "message"],
        "properties": {"field": {"type": "string", "description": "JSON path of the field, or a header / query parameter name."}, "message": {"type": "string"}}
      },
      "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "description": "RFC 9457 problem details.",
        "properties": {
          "type": {"type": "string", "enum": []},
          "title": {"type": "string"},
          "status": {"type": "integer"},
          "detail": {"type": "string", "description": "What went wrong, naming the field, the value and what is allowed."},
          "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
          "existing_id": {"type": "string", "description": "409: the configuration that already has this (model_id, configuration_type)."},
          "resolved": {"$ref": "#/components/schemas/ResolvedParameters"},
          "request_id": {"type": "integer", "description": "5xx only: the request's id in the server's log, which has the cause (answers never carry it)."}
        }
      },
      "Catalog": {
        "type": "object", "required": ["schema_version", "configuration_types", "base_models"],
        "properties": {
          "schema_version": {"type": "integer"},
          "configuration_types": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "description": {"type": "string"}}}},
          "base_models": {"type": "array", "items": {"$ref": "#/components/schemas/BaseModel"}}
        }
      },
      "Range": {"type": "object", "properties": {"min": {"type": "number"}, "max": {"type": "number"}}},
      "Preset": {
        "type": "object",
        "properties": {
          "steps": {"type": "integer"}, "cfg_scale": {"type": "number"}, "sampler": {"type": "string"}, "scheduler": {"type": "string"},
          "model_specific_params": {"$ref": "#/components/schemas/ModelSpecificParams"}, "source": {"type": "string"}
        }
      },
      "BaseModel": {
        "type": "object", "required": ["id", "display_name", "family", "modality", "native_resolutions", "constraints", "presets"],
        "properties": {
          "id": {"type": "string"},
          "display_name": {"type": "string"},
          "family": {"type": "string"},
          "modality": {"enum": ["image", "video"]},
          "native_resolutions": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}},
          "constraints": {
            "type": "object",
            "properties": {
              "steps": {"$ref": "#/components/schemas/Range"},
              "cfg_scale": {"$ref": "#/components/schemas/Range"},
              "negative_prompt": {"type": "boolean"},
              "params": {"type": "object", "additionalProperties": {"type": "object"}}
            }
          },
          "presets": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Preset"}},
          "variants": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "display_name": {"type": "string"}, "description": {"type": "string"},
            "constraints": {"type": "object"}, "presets": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Preset"}},
            "experts": {"type": "array", "items": {"type": "string"}, "description": "Replaces the base's experts; [] for a single model."}}}},
          "notes": {"type": "string"},
          "experts": {"type": "array", "items": {"type": "string"}, "description": "The denoising experts in the order they run (Wan 2.2 A14B: high_noise, low_noise); absent for a single model."}
        }
      },
      "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
      "Ready": {"type": "object", "required": ["status", "configurations"], "properties": {"status": {"const": "ready"}, "configurations": {"type": "integer"}}}
    }
  }
})json";

}  // namespace

nlohmann::json openapi_document() {
  nlohmann::json doc = nlohmann::json::parse(kDocument);
  // The problem types come from the code that uses them.
  auto& types = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"];
  std::string described;
  for (const auto& t : problem_types()) {
    types.push_back("urn:inferconf:problem:" + std::string(t.slug));
    described += "\n- `urn:inferconf:problem:" + std::string(t.slug) + "` (" + std::to_string(t.status) + "): " +
                 std::string(t.title);
  }
  doc["components"]["schemas"]["Problem"]["properties"]["type"]["description"] = "One of:" + described;
  // Any operation can also answer 400 (unparsable request, Transfer-Encoding
  // other than chunked, trailers, a bad or foreign Host), 405, 408, 413, 431,
  // 500 or 503 before or beside its own responses.
  for (auto& [path, item] : doc["paths"].items()) {
    std::string allow;
    for (auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      allow += upper + ", ";
      op["responses"]["default"] = {
          {"description", "Any other problem (400 for framing or Host, 405 with Allow, 408, 413, 431, 500, 503...)."},
          {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    }
    // Every route answers OPTIONS, without a token, with the methods it allows.
    item["options"] = {
        {"operationId", "options" + path},
        {"summary", "The methods this path allows (Allow header); no token needed."},
        {"security", nlohmann::json::array({nlohmann::json::object()})},
        {"responses",
         {{"204", {{"description", "No content; the Allow header lists the methods."},
                   {"headers", {{"Allow", {{"schema", {{"type", "string"}}, {"example", allow + "OPTIONS"}}}}}}}},
          {"default",
           {{"description", "400 (framing, Host) or 404 (no such path)."},
            {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}}}}}};
  }
  return doc;
}

}  // namespace inferconf::http

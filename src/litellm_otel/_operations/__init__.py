"""One module per LiteLLM surface: pure mapping from call arguments and results to the
fields of a util-genai invocation. No span or context handling happens here, so each
mapping is unit-testable with plain dicts and LiteLLM objects."""

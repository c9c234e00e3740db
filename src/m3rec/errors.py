"""Domain errors: each carries one line that names the problem and the fix."""


class M3recError(Exception):
    """Base of every error the CLI turns into one line and exit code 1."""


class ConfigError(M3recError):
    """A setting, flag or config file is invalid."""


class ModelError(M3recError):
    """A model file is unknown, missing, partial or corrupt, or could not be fetched."""


class CacheDirError(M3recError):
    """A cache or store directory cannot be created or written."""


class LLMError(M3recError):
    """An LLM backend failed."""


class LLMUnavailableError(LLMError):
    """The LLM server could not be reached or did not answer in time."""


class LLMAuthError(LLMError):
    """The LLM server refused the credentials."""


class LLMResponseError(LLMError):
    """The LLM server answered with something that is not a usable reply."""


class StructuredOutputError(LLMError):
    """The model's reply did not validate against the schema, even after one repair."""

    def __init__(self, message: str, *, raw_replies: list[str]) -> None:
        super().__init__(message)
        self.raw_replies = raw_replies


class EmptyHistoryError(M3recError):
    """A user has no visible interactions to read motivations from."""

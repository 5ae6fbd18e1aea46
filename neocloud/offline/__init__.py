"""The offline path: the real program under Pulumi's mock engine, and the real policy pack over gRPC."""

from .engine import DuplicateUrnError, ProgramError, ProgramRun, RecordedResource, load_stack_config, run_program

__all__ = ["DuplicateUrnError", "ProgramError", "ProgramRun", "RecordedResource", "load_stack_config", "run_program"]

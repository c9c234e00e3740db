"""MOTE's domain errors: one line that names the problem and the fix."""

from __future__ import annotations

from m3rec.errors import M3recError


class EncoderError(M3recError):
    """MOTE cannot run as asked (a device that is not there, data too small to train on)."""


class CheckpointError(EncoderError):
    """A MOTE checkpoint is missing, unreadable, or belongs to other data or settings."""

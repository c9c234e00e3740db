"""`m3rec doctor`: versions, model file, stores, device, and one live structured LLM call."""

from __future__ import annotations

import typer

from m3rec.cli.errors import reports_errors
from m3rec.cli.options import JsonOpt, with_llm_settings
from m3rec.cli.render import print_doctor, print_json, spinner
from m3rec.settings import Settings


@reports_errors
@with_llm_settings
def doctor(*, settings: Settings, as_json: JsonOpt = False) -> None:
    """Check the model, store and device with one live LLM call.

    Shows the versions of the packages m3rec runs on, the model file and whether it is
    verified, the folders in use and the devices, then asks the LLM for one structured reply.
    """
    from m3rec.doctor import run_doctor

    with spinner("loading the model and making one structured call"):
        report = run_doctor(settings)
    if as_json:
        print_json(report)
    else:
        print_doctor(report)
    if not report["round_trip"]["ok"]:
        if not as_json:
            typer.echo(f"error: {report['round_trip']['error']}", err=True)
        raise typer.Exit(code=1)

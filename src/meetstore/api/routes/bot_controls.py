"""Live controls of a bot in its meeting (API.md "MeetStream parity"): pause and resume the
recording, post to the meeting's chat, show an image."""

from __future__ import annotations

from fastapi import APIRouter

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import BotIdPath, errors, ok
from meetstore.api.schemas.controls import ControlOut, SendImageIn, SendMessageIn
from meetstore.services.bot_controls import ControlAnswer

router = APIRouter(prefix="/api/v1/bots", tags=["bots"])

OUTCOMES = {
    **ok(ControlOut, "Done: whether the recording is paused now."),
    **errors(
        {
            404: "No such bot in this account (also a malformed id): `bot_not_found`.",
            409: "The bot is not in its meeting: `bot_not_in_meeting` (with `status`).",
        }
    ),
}


def _out(answer: ControlAnswer) -> ControlOut:
    return ControlOut(bot_id=answer.bot_id, recording="paused" if answer.paused else "recording")


@router.post("/{bot_id}/pause_recording", response_model=ControlOut, responses=OUTCOMES)
def pause_recording(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> ControlOut:
    """Stop writing media until resume_recording; the pause shows in the manifest and detail."""
    return _out(container.controls.pause(account_id, bot_id))


@router.post("/{bot_id}/resume_recording", response_model=ControlOut, responses=OUTCOMES)
def resume_recording(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> ControlOut:
    return _out(container.controls.resume(account_id, bot_id))


@router.post("/{bot_id}/send_message", response_model=ControlOut, responses=OUTCOMES)
def send_message(body: SendMessageIn, bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> ControlOut:
    """Post a message in the meeting's chat as the bot (it is in the chat log)."""
    return _out(container.controls.send_message(account_id, bot_id, body.message))


@router.post("/{bot_id}/send_image", response_model=ControlOut, responses=OUTCOMES)
def send_image(body: SendImageIn, bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> ControlOut:
    """Show an image in the meeting (recorded in the manifest's events; never fetched here)."""
    return _out(container.controls.send_image(account_id, bot_id, body.img_url, body.display_duration))

"""Bot views → the bodies of the bot endpoints and the runtime's hand-in answers.

A view whose fields are the body's is read attribute by attribute (`from_attributes`); only what
differs (times as RFC 3339, the removal's sentence) is written out here."""

from __future__ import annotations

from typing import Any

from meetstore.api.schemas.lifecycle import DeletedOut, DeletionAcceptedOut
from meetstore.api.schemas.responses import (
    ArtifactOut,
    BotCreatedOut,
    BotDetailOut,
    BotListOut,
    BotStatusOut,
    BotStorageOut,
    BotSummaryOut,
    ClaimOut,
    IngestFileOut,
    IngestLeftOut,
    LocationOut,
    RemoveBotOut,
    WaitingBotOut,
    WaitingBotsOut,
    WebhookStateOut,
)
from meetstore.domain.clock import rfc3339
from meetstore.services.bot_views import (
    BotDetail,
    BotPage,
    BotState,
    BotSummary,
    MeetStreamDetails,
    NewBotView,
    Removal,
    Removed,
    StorageLocation,
)
from meetstore.services.erasure import ErasureAnswer
from meetstore.services.handin import HandedIn
from meetstore.services.ingest import SavedFile
from meetstore.services.runtime_claims import Claim, WaitingPage

REMOVAL_MESSAGES = {
    Removal.LEAVING: "The bot is leaving the meeting; its recording is kept.",
    Removal.ALREADY_LEAVING: "The bot is already leaving the meeting; its recording is kept.",
    Removal.ALREADY_LEFT: "The bot has already left the meeting; its recording is kept.",
}


def created(b: NewBotView) -> BotCreatedOut:
    return BotCreatedOut(
        bot_id=b.bot_id, transcript_id=b.transcript_id, meeting_url=b.meeting_url, status=b.status
    )


def _summary_fields(b: BotSummary) -> dict[str, object]:
    return {
        "bot_id": b.bot_id,
        "transcript_id": b.transcript_id,
        "meeting_url": b.meeting_url,
        "bot_name": b.bot_name,
        "status": b.status,
        "created_at": rfc3339(b.created_at),
        "updated_at": rfc3339(b.updated_at),
        "custom_attributes": b.custom_attributes,
    }


def page(p: BotPage) -> BotListOut:
    return BotListOut(
        bots=[BotSummaryOut.model_validate(_summary_fields(b)) for b in p.bots], next_cursor=p.next_cursor
    )


def state(s: BotState) -> BotStatusOut:
    return BotStatusOut.model_validate(s, from_attributes=True)


def removed(r: Removed) -> RemoveBotOut:
    return RemoveBotOut(bot_id=r.bot_id, status=r.status, message=REMOVAL_MESSAGES[r.removal])


def location(loc: StorageLocation | None) -> LocationOut | None:
    if loc is None:
        return None
    return LocationOut(
        kind=loc.kind,
        bucket=loc.bucket,
        region=loc.region,
        endpoint_url=loc.endpoint_url,
        prefixes=loc.prefixes,
    )


def detail(d: BotDetail) -> BotDetailOut:
    return BotDetailOut.model_validate(
        {
            **_summary_fields(d.summary),
            "transcript_provider": d.transcript_provider,
            "callback_url": d.callback_url,
            "video_required": d.video_required,
            "audio_separate_streams": d.audio_separate_streams,
            "runtime": d.runtime,
            "left_at": rfc3339(d.left_at),
            "done_at": rfc3339(d.done_at),
            "options": d.options,
            "storage": BotStorageOut(
                location=location(d.location),
                artifacts=[ArtifactOut.model_validate(a, from_attributes=True) for a in d.artifacts],
            ),
            "webhooks": [WebhookStateOut.model_validate(w, from_attributes=True) for w in d.webhooks],
            "retention": d.lifecycle.retention,
            "deletion": d.lifecycle.deletion,
            "deleted_at": rfc3339(d.lifecycle.deleted_at),
            "expired_at": rfc3339(d.lifecycle.expired_at),
            "media_expired_at": rfc3339(d.lifecycle.expired_at),
            "recording": "paused" if d.paused else "recording",
            "pauses": list(d.pauses),
            "bot_details": None if d.meetstream is None else bot_details(d.meetstream),
        }
    )


def bot_details(m: MeetStreamDetails) -> dict[str, Any]:
    return {
        "BotID": m.bot_id,
        "Status": m.status,
        "StatusTimeline": {stage: {"status": True, "timestamp": rfc3339(at)} for stage, at in m.timeline},
        "RequestPayload": m.request,
        "MeetingLink": m.meeting_link,
        "Platform": m.platform,
        "BotUsername": m.bot_name,
        "BotMessage": m.bot_message,
        "CreatedAt": rfc3339(m.created_at),
        "StartTime": rfc3339(m.start),
        "EndTime": rfc3339(m.end),
        "Duration": m.duration_s,
        "custom_attributes": m.custom_attributes,
    }


def handed_in(h: HandedIn) -> IngestLeftOut:
    return IngestLeftOut(bot_id=h.bot_id, storage=location(h.storage), artifacts=h.artifacts)


def waiting(p: WaitingPage) -> WaitingBotsOut:
    return WaitingBotsOut(
        bots=[
            WaitingBotOut(
                bot_id=b.bot_id,
                meeting_link=b.meeting_link,
                bot_name=b.bot_name,
                options=b.options,
                created_at=rfc3339(b.created_at),
            )
            for b in p.bots
        ],
        next_cursor=p.next_cursor,
    )


def claim(c: Claim) -> ClaimOut:
    return ClaimOut(
        bot_id=c.bot_id, runtime_credential=c.runtime_credential, lease_expires_at=rfc3339(c.lease_expires_at)
    )


def saved_file(f: SavedFile) -> IngestFileOut:
    return IngestFileOut.model_validate(f, from_attributes=True)


def deletion(a: ErasureAnswer) -> DeletedOut | DeletionAcceptedOut:
    if a.receipt is None:
        return DeletionAcceptedOut(success=True, status="deleting", bot_id=a.bot_id)
    message = (
        "The bot's media and meeting data were erased."
        if a.receipt.get("status") == "deleted"
        else "The bot's media was erased where meetstore could; some objects were left (see the receipt)."
    )
    return DeletedOut.model_validate({"success": True, "message": message, "bot_id": a.bot_id, "deletion": a.receipt})

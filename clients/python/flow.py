"""The whole Aftercare flow, run through the client that openapi-python-client generated from
openapi.yaml (package `aftercare_client`), against a live server. No HTTP of its own: every request
goes through the generated functions, and the clinic is created with the `aftercare` command.

Environment: AFTERCARE_URL (the server), AFTERCARE_BIN (the binary), and the server's own
DATABASE_URL (and JWT_SECRET, AUDIT_KEY...) so that `aftercare clinic create` writes where the
server reads. scripts/client_gates.sh sets all of them. Prints one line per step; exits non-zero on
the first unexpected answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from aftercare_client import AuthenticatedClient, Client
from aftercare_client.api.auth import activate_account, log_in, log_out, refresh_tokens
from aftercare_client.api.check_ins import (
    create_check_in,
    get_review_queue,
    list_check_in_questions,
    review_check_in,
)
from aftercare_client.api.me import get_today
from aftercare_client.api.patients import (
    create_patient,
    create_screening,
    list_screening_questions,
    list_time_zones,
)
from aftercare_client.api.photos import compare_photos, create_photo, get_photo, get_photo_content, upload_photo_content
from aftercare_client.api.reminders import acknowledge_reminder
from aftercare_client.api.staff import invite_clinician
from aftercare_client.api.treatments import create_treatment, get_calendar, get_timeline, list_reminders
from aftercare_client.models import (
    ActivateRequest,
    Area,
    BodySite,
    CheckIn,
    CheckInQuestions,
    CreateCheckIn,
    CreatedPatient,
    CreatedStaffMember,
    CreatePatient,
    CreatePhoto,
    CreateScreening,
    CreateTreatment,
    InviteStaff,
    LoginRequest,
    Photo,
    PhotoComparison,
    PhotoState,
    PhotoType,
    PhotoView,
    Procedure,
    RefreshRequest,
    Reminder,
    ReminderList,
    ReviewBody,
    ReviewQueue,
    Screening,
    ScreeningAnswers,
    ScreeningQuestions,
    Setting,
    SignKind,
    SkinType,
    StaffRole,
    SymptomsBody,
    Timeline,
    TimeZoneList,
    Today,
    TokenPair,
    Treatment,
)
from aftercare_client.types import File, Response
from gps_photo import jpeg_with_gps, metadata_of

T = TypeVar("T")


class FlowError(Exception):
    pass


def step(name: str, response: Response[Any], status: int, kind: type[T], key: Callable[[T], str]) -> T:
    """Checks the answer's status and type, prints the step's line (status and `key` of the answer),
    returns the parsed answer."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, kind):
        body = response.content.decode(errors="replace")[:500]
        raise FlowError(f"{name}: expected {status} {kind.__name__}, got {response.status_code}: {body}")
    print(f"{name:<34} {response.status_code}  {key(parsed)}")
    return parsed


def bare(name: str, response: Response[Any], status: int, note: str) -> None:
    """A step whose answer has no body to read (204), or an error the flow expects."""
    if response.status_code != status:
        body = response.content.decode(errors="replace")[:500]
        raise FlowError(f"{name}: expected {status}, got {response.status_code}: {body}")
    print(f"{name:<34} {response.status_code}  {note}")


def as_uuid(value: object) -> uuid.UUID:
    """Ids in answers are strings now, and UUID objects once the spec gives them `format: uuid`."""
    return uuid.UUID(str(value))


def create_clinic(suffix: str, password: str) -> str:
    """The clinic and its administrator come from the command line, as in the README."""
    email = f"admin-{suffix}@flow.example"
    command = [
        os.environ["AFTERCARE_BIN"],
        "clinic",
        "create",
        "--name",
        f"Flow Clinic {suffix}",
        "--admin-email",
        email,
        "--admin-password-stdin",
    ]
    done = subprocess.run(command, input=password + "\n", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FlowError(f"aftercare clinic create: exit {done.returncode}: {done.stderr.strip()}")
    print(f"{'cli: aftercare clinic create':<34} ok   clinic_id={json.loads(done.stdout)['clinic_id']}")
    return email


# How the patient feels today, by sign; the form itself comes from the served questions.
SCORES = {"redness": 8, "swelling": 3, "pain": 2, "itching": 1, "peeling": 4}


def answers_to(questions: CheckInQuestions) -> SymptomsBody:
    """Builds the check-in's answers from the questions the server asks that day, as an app builds
    its form from data: a score for each score question, "no" for each yes/no question, whatever
    signs the treatment's protocol asks."""
    answers: dict[str, int | bool] = {}
    for question in questions.questions:
        if question.kind == SignKind.SCORE:
            answers[question.sign] = SCORES.get(question.sign, 0)
        else:
            answers[question.sign] = False
    return SymptomsBody.from_dict(answers)


def main() -> None:
    base_url = os.environ.get("AFTERCARE_URL", "http://127.0.0.1:8080")
    suffix = secrets.token_hex(4)
    public = Client(base_url=base_url)

    def signed_in(pair: TokenPair) -> AuthenticatedClient:
        return AuthenticatedClient(base_url=base_url, token=pair.access_token)

    # The clinic and its administrator (CLI); the administrator logs in and invites a clinician,
    # who activates the account with the invitation token.
    admin_password = secrets.token_urlsafe(18)
    admin_email = create_clinic(suffix, admin_password)
    admin_pair = step(
        "admin: logIn",
        log_in.sync_detailed(client=public, body=LoginRequest(email=admin_email, password=admin_password)),
        200,
        TokenPair,
        lambda p: f"role={p.user.role.value} expires_in={p.expires_in}",
    )
    admin = signed_in(admin_pair)
    invited = step(
        "admin: inviteClinician",
        invite_clinician.sync_detailed(
            client=admin,
            body=InviteStaff(name="Dr. Ana Flow", email=f"clinician-{suffix}@flow.example", role=StaffRole.CLINICIAN),
        ),
        201,
        CreatedStaffMember,
        lambda s: f"id={s.id} activated={s.activated}",
    )
    clinician_pair = step(
        "clinician: activateAccount",
        activate_account.sync_detailed(
            client=public, body=ActivateRequest(invite_token=invited.invite_token, password=f"clinician pw {suffix}")
        ),
        200,
        TokenPair,
        lambda p: f"role={p.user.role.value}",
    )
    clinician = signed_in(clinician_pair)

    # The clinician adds a patient, who activates from the app, in a zone the server lists.
    zones = step(
        "clinician: listTimeZones",
        list_time_zones.sync_detailed(client=clinician),
        200,
        TimeZoneList,
        lambda z: f"{len(z.items)} zones, America/Chicago listed={'America/Chicago' in z.items}",
    )
    if "America/Chicago" not in zones.items:
        raise FlowError("listTimeZones: America/Chicago is missing")
    patient = step(
        "clinician: createPatient",
        create_patient.sync_detailed(
            client=clinician,
            body=CreatePatient(
                name="Maya Flow",
                email=f"patient-{suffix}@flow.example",
                timezone="America/Chicago",
                skin_type=SkinType.DRY,
                fitzpatrick=4,
            ),
        ),
        201,
        CreatedPatient,
        lambda p: f"id={p.id} timezone={p.timezone}",
    )
    patient_pair = step(
        "patient: activateAccount",
        activate_account.sync_detailed(
            client=public, body=ActivateRequest(invite_token=patient.invite_token, password=f"patient pw {suffix}")
        ),
        200,
        TokenPair,
        lambda p: f"role={p.user.role.value}",
    )
    me = signed_in(patient_pair)
    patient_id = as_uuid(patient.id)

    # Screening (its form built from the questions the current protocol asks), then a treatment four
    # days ago (so the plan is past its first phase). The treatment needs that eligible screening.
    questions = step(
        "clinician: listScreeningQuestions",
        list_screening_questions.sync_detailed(client=clinician),
        200,
        ScreeningQuestions,
        lambda q: f"protocol v{q.protocol.version}, {len(q.questions)} questions",
    )
    answers = ScreeningAnswers.from_dict(
        {q.key: q.key in ("numbing_allergy", "cold_sores") for q in questions.questions}
    )
    step(
        "clinician: createScreening",
        create_screening.sync_detailed(patient_id, client=clinician, body=CreateScreening(answers=answers)),
        201,
        Screening,
        lambda s: f"eligible={s.eligible} cautions={','.join(c.code for c in s.cautions)}",
    )
    treated_on = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=4)
    treatment = step(
        "clinician: createTreatment",
        create_treatment.sync_detailed(
            patient_id,
            client=clinician,
            body=CreateTreatment(
                procedure=Procedure.MICRONEEDLING,
                treated_on=treated_on,
                setting=Setting.IN_OFFICE,
                areas=[Area.FACE],
                needle_depth_mm=1.0,
            ),
        ),
        201,
        Treatment,
        lambda t: f"id={t.id} treated_on={t.treated_on} screening={t.screening_id}",
    )
    treatment_id = as_uuid(treatment.id)

    # The patient's app: today, the timeline, a week of reminders, the calendar feed.
    today = step(
        "patient: getToday",
        get_today.sync_detailed(client=me),
        200,
        Today,
        lambda t: f"date={t.date} plans={len(t.treatments)}",
    )
    reminders = [r for t in today.treatments if as_uuid(t.treatment_id) == treatment_id for r in t.reminders]
    if not reminders:
        raise FlowError("today shows no reminder of the new plan")
    step(
        "patient: getTimeline",
        get_timeline.sync_detailed(treatment_id, client=me),
        200,
        Timeline,
        lambda t: f"day={t.day_number} current_phase={t.current_phase} phases={len(t.phases)}",
    )
    week_end = today.date + dt.timedelta(days=6)
    step(
        "patient: listReminders",
        list_reminders.sync_detailed(treatment_id, client=me, from_=today.date, to=week_end),
        200,
        ReminderList,
        lambda w: (
            f"{len(w.items)} reminders on {len({str(r.local_date) for r in w.items})} days {today.date}..{week_end}"
        ),
    )
    step(
        "patient: getCalendar",
        get_calendar.sync_detailed(treatment_id, client=me),
        200,
        str,
        lambda c: f"{c.count('BEGIN:VEVENT')} events, {c.count('BEGIN:VALARM')} alarms",
    )

    # Done with one of today's reminders.
    reminder = reminders[0]
    step(
        "patient: acknowledgeReminder",
        acknowledge_reminder.sync_detailed(as_uuid(reminder.id), client=me),
        200,
        Reminder,
        lambda r: f"kind={r.kind} acknowledged_at={r.acknowledged_at}",
    )

    # The check-in's form, from the questions of today; then the check-in, sent twice with one
    # Idempotency-Key: the retry gets the first answer again.
    form = step(
        "patient: listCheckInQuestions",
        list_check_in_questions.sync_detailed(treatment_id, client=me),
        200,
        CheckInQuestions,
        lambda q: f"day={q.day_number} {len(q.questions)} questions ({sum(not x.required for x in q.questions)} optional)",
    )
    body = CreateCheckIn(symptoms=answers_to(form), notes="Still very red")
    key = str(uuid.uuid4())
    check_in = step(
        "patient: createCheckIn",
        create_check_in.sync_detailed(treatment_id, client=me, body=body, idempotency_key=key),
        201,
        CheckIn,
        lambda c: f"id={c.id} level={c.assessment.level.value} day={c.day_number}",
    )
    resent = create_check_in.sync_detailed(treatment_id, client=me, body=body, idempotency_key=key)
    replayed = resent.headers.get("Idempotency-Replayed")
    again = step(
        "patient: createCheckIn (same key)",
        resent,
        201,
        CheckIn,
        lambda c: f"id={c.id} same={c.id == check_in.id} Idempotency-Replayed={replayed}",
    )
    if again.id != check_in.id or replayed != "true":
        raise FlowError("the retry with the same Idempotency-Key was not answered with the first check-in")
    asked = {question.sign for question in form.questions}
    answered = set(check_in.symptoms.to_dict())
    if answered != asked or check_in.unanswered:
        raise FlowError(f"the check-in kept {sorted(answered)} of the questions {sorted(asked)}")
    check_in_id = as_uuid(check_in.id)

    # A photo taken with the phone, its GPS position in the EXIF: first its record (size, SHA-256,
    # dimensions), then its bytes; the upload verifies them and makes the photo visible to the clinic.
    jpeg = jpeg_with_gps()
    sent = metadata_of(jpeg)
    if not sent.gps_tags:
        raise FlowError("the photo to upload has no GPS position: nothing would be proven")
    photo = step(
        "patient: createPhoto",
        create_photo.sync_detailed(
            check_in_id,
            client=me,
            body=CreatePhoto(
                content_type=PhotoType.IMAGEJPEG,
                byte_size=len(jpeg),
                sha256=hashlib.sha256(jpeg).hexdigest(),
                width=sent.width,
                height=sent.height,
                captured_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                body_site=BodySite.LEFT_CHEEK,
                view=PhotoView.FRONT,
            ),
        ),
        201,
        Photo,
        lambda p: f"id={p.id} state={p.state.value} byte_size={p.byte_size}",
    )
    photo_id = as_uuid(photo.id)
    uploaded = step(
        "patient: uploadPhotoContent",
        upload_photo_content.sync_detailed(photo_id, client=me, body=File(payload=io.BytesIO(jpeg))),
        200,
        Photo,
        lambda p: f"{len(jpeg)} bytes with {sent.gps_tags} GPS tags sent, state={p.state.value}",
    )
    if uploaded.state != PhotoState.VERIFIED:
        raise FlowError(f"uploadPhotoContent: the photo is {uploaded.state.value}, not verified")

    # The clinician sees the photo, verified, downloads it without its metadata, and finds it in
    # the treatment's comparison by day.
    seen = step(
        "clinician: getPhoto",
        get_photo.sync_detailed(photo_id, client=clinician),
        200,
        Photo,
        lambda p: f"state={p.state.value} metadata_removed={p.metadata_removed}",
    )
    if seen.state != PhotoState.VERIFIED or not seen.metadata_removed:
        raise FlowError("getPhoto: the clinician should see the photo verified, its metadata removed")
    download = get_photo_content.sync_detailed(photo_id, client=clinician)
    downloaded = step(
        "clinician: getPhotoContent",
        download,
        200,
        File,
        lambda _: f"{len(download.content)} bytes, {download.headers.get('content-type')}, "
        f"Cache-Control: {download.headers.get('cache-control')}",
    )
    try:
        kept = metadata_of(downloaded.payload.read())
    except ValueError as error:
        raise FlowError(f"getPhotoContent: {error}") from error
    print(
        f"{'  the downloaded JPEG':<34} ok   {kept.width}x{kept.height}, {kept.exif_tags} EXIF tags, "
        f"{kept.gps_tags} GPS tags, {kept.app1_segments} APP1 segments (sent: {sent.exif_tags}, {sent.gps_tags}, "
        f"{sent.app1_segments})"
    )
    if kept.exif_tags or kept.gps_tags or kept.app1_segments or (kept.width, kept.height) != (sent.width, sent.height):
        raise FlowError(f"getPhotoContent: the clinician's copy keeps metadata, or lost its size: {kept}")
    comparison = step(
        "clinician: comparePhotos",
        compare_photos.sync_detailed(treatment_id, client=clinician, body_site=BodySite.LEFT_CHEEK),
        200,
        PhotoComparison,
        lambda c: ", ".join(f"day {d.day_number}: {len(d.photos)} photo(s)" for d in c.days) or "no days",
    )
    if not any(as_uuid(p.id) == photo_id for day in comparison.days for p in day.photos):
        raise FlowError("comparePhotos: the uploaded photo is not in the comparison")

    # The clinician's queue, then the review.
    queue = step(
        "clinician: getReviewQueue",
        get_review_queue.sync_detailed(client=clinician),
        200,
        ReviewQueue,
        lambda q: f"urgent={q.counts.urgent} watch={q.counts.watch} ok={q.counts.ok} items={len(q.items)}",
    )
    if not any(as_uuid(item.id) == check_in_id for item in queue.items):
        raise FlowError("the check-in is not in the review queue")
    step(
        "clinician: reviewCheckIn",
        review_check_in.sync_detailed(
            check_in_id, client=clinician, body=ReviewBody(note="Called the patient: expected at day 5.")
        ),
        200,
        CheckIn,
        lambda c: f"reviewed_at={c.reviewed_at}",
    )

    # The app refreshes its tokens, then logs out; the ended login refreshes no more.
    renewed = step(
        "patient: refreshTokens",
        refresh_tokens.sync_detailed(client=public, body=RefreshRequest(refresh_token=patient_pair.refresh_token)),
        200,
        TokenPair,
        lambda p: f"new pair, expires_in={p.expires_in}",
    )
    # The answer was lost on a bad network: the retry with the same token gets the same new one.
    retried = step(
        "patient: refreshTokens (retried)",
        refresh_tokens.sync_detailed(client=public, body=RefreshRequest(refresh_token=patient_pair.refresh_token)),
        200,
        TokenPair,
        lambda p: f"same refresh token={p.refresh_token == renewed.refresh_token}",
    )
    if retried.refresh_token != renewed.refresh_token:
        raise FlowError("refreshTokens (retried): a retry must get the same refresh token")
    bare(
        "patient: logOut",
        log_out.sync_detailed(client=signed_in(renewed), body=RefreshRequest(refresh_token=renewed.refresh_token)),
        204,
        "login ended",
    )
    bare(
        "patient: refreshTokens (ended)",
        refresh_tokens.sync_detailed(client=public, body=RefreshRequest(refresh_token=renewed.refresh_token)),
        401,
        "refused, as it should be",
    )


if __name__ == "__main__":
    try:
        main()
    except FlowError as error:
        print(f"FLOW FAILED: {error}", file=sys.stderr)
        sys.exit(1)

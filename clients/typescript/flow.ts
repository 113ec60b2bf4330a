// The whole Aftercare flow through openapi-fetch, typed by the types openapi-typescript generated
// from openapi.yaml (generated/aftercare.d.ts, not committed). `tsc --strict` checks every path,
// parameter and body below against the spec; scripts/client_gates.sh also runs it against a live
// server. Environment: AFTERCARE_URL, AFTERCARE_BIN and the server's own DATABASE_URL (and
// JWT_SECRET...) so that `aftercare clinic create` writes where the server reads.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/aftercare.js";
import { jpegMetadata } from "./jpeg.js";

// A phone's JPEG with a GPS position in its EXIF, made by ../python/gps_photo.py (Pillow).
const GPS_PHOTO = new URL("../gps-photo.jpg", import.meta.url);

type TokenPair = components["schemas"]["TokenPair"];

class FlowError extends Error {}

/** Checks the status and that a body came back, prints the step's line, returns the body. */
function step<T>(
  name: string,
  result: { data?: T; error?: unknown; response: Response },
  status: number,
  key: (value: T) => string,
): T {
  const { data, error, response } = result;
  if (response.status !== status || data === undefined) {
    throw new FlowError(`${name}: expected ${status}, got ${response.status}: ${JSON.stringify(error)}`);
  }
  console.log(`${name.padEnd(34)} ${response.status}  ${key(data)}`);
  return data;
}

/** A step whose answer has no body (204), or an error the flow expects. */
function bare(name: string, result: { response: Response }, status: number, note: string): void {
  if (result.response.status !== status) {
    throw new FlowError(`${name}: expected ${status}, got ${result.response.status}`);
  }
  console.log(`${name.padEnd(34)} ${result.response.status}  ${note}`);
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + days);
  return isoDate(next);
}

/** The clinic and its administrator come from the command line, as in the README. */
function createClinic(suffix: string, password: string): string {
  const email = `admin-${suffix}@flow-ts.example`;
  const binary = process.env.AFTERCARE_BIN ?? "target/debug/aftercare";
  const args = ["clinic", "create", "--name", `TS Flow Clinic ${suffix}`, "--admin-email", email, "--admin-password-stdin"];
  const created = JSON.parse(execFileSync(binary, args, { input: `${password}\n`, encoding: "utf8" })) as {
    clinic_id: string;
  };
  console.log(`${"cli: aftercare clinic create".padEnd(34)} ok   clinic_id=${created.clinic_id}`);
  return email;
}

async function main(): Promise<void> {
  const baseUrl = process.env.AFTERCARE_URL ?? "http://127.0.0.1:8080";
  const suffix = randomBytes(4).toString("hex");
  const publicApi = createClient<paths>({ baseUrl });
  const signedIn = (pair: TokenPair) =>
    createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${pair.access_token}` } });

  // The clinic and its administrator (CLI); the administrator invites a clinician, who activates.
  const adminPassword = randomBytes(18).toString("base64url");
  const adminEmail = createClinic(suffix, adminPassword);
  const adminPair = step(
    "admin: logIn",
    await publicApi.POST("/v1/auth/login", { body: { email: adminEmail, password: adminPassword } }),
    200,
    (p) => `role=${p.user.role} expires_in=${p.expires_in}`,
  );
  const admin = signedIn(adminPair);
  const invited = step(
    "admin: inviteClinician",
    await admin.POST("/v1/clinicians", {
      body: { name: "Dr. Ana Flow", email: `clinician-${suffix}@flow-ts.example`, role: "clinician" },
    }),
    201,
    (s) => `id=${s.id} activated=${s.activated}`,
  );
  const clinicianPair = step(
    "clinician: activateAccount",
    await publicApi.POST("/v1/auth/activate", {
      body: { invite_token: invited.invite_token, password: `clinician pw ${suffix}` },
    }),
    200,
    (p) => `role=${p.user.role}`,
  );
  const clinician = signedIn(clinicianPair);

  // The clinician adds a patient, who activates from the app, in a zone the server lists.
  const zones = step(
    "clinician: listTimeZones",
    await clinician.GET("/v1/time-zones"),
    200,
    (z) => `${z.items.length} zones, America/Chicago listed=${z.items.includes("America/Chicago")}`,
  );
  if (!zones.items.includes("America/Chicago")) {
    throw new Error("listTimeZones: America/Chicago is missing");
  }
  const patient = step(
    "clinician: createPatient",
    await clinician.POST("/v1/patients", {
      body: {
        name: "Maya Flow",
        email: `patient-${suffix}@flow-ts.example`,
        timezone: "America/Chicago",
        skin_type: "dry",
        fitzpatrick: 4,
      },
    }),
    201,
    (p) => `id=${p.id} timezone=${p.timezone}`,
  );
  const patientPair = step(
    "patient: activateAccount",
    await publicApi.POST("/v1/auth/activate", {
      body: { invite_token: patient.invite_token, password: `patient pw ${suffix}` },
    }),
    200,
    (p) => `role=${p.user.role}`,
  );
  const me = signedIn(patientPair);
  const patientPath = { params: { path: { id: patient.id } } };

  // Screening (its form built from the questions the current protocol asks), then a treatment four
  // days ago (so the plan is past its first phase). The treatment needs that eligible screening.
  const questions = step(
    "clinician: listScreeningQuestions",
    await clinician.GET("/v1/screening-questions"),
    200,
    (q) => `protocol v${q.protocol.version}, ${q.questions.length} questions`,
  );
  const answers = Object.fromEntries(
    questions.questions.map((q) => [q.key, q.key === "numbing_allergy" || q.key === "cold_sores"]),
  ) as components["schemas"]["ScreeningAnswers"];
  step(
    "clinician: createScreening",
    await clinician.POST("/v1/patients/{id}/screenings", { ...patientPath, body: { answers } }),
    201,
    (s) => `eligible=${s.eligible} cautions=${s.cautions.map((c) => c.code).join(",")}`,
  );
  const treatment = step(
    "clinician: createTreatment",
    await clinician.POST("/v1/patients/{id}/treatments", {
      ...patientPath,
      body: {
        procedure: "microneedling",
        treated_on: addDays(isoDate(new Date()), -4),
        setting: "in_office",
        areas: ["face"],
        needle_depth_mm: 1.0,
      },
    }),
    201,
    (t) => `id=${t.id} treated_on=${t.treated_on} screening=${t.screening_id}`,
  );
  const treatmentPath = { params: { path: { id: treatment.id } } };

  // The patient's app: today, the timeline, a week of reminders, the calendar feed.
  const today = step(
    "patient: getToday",
    await me.GET("/v1/me/today"),
    200,
    (t) => `date=${t.date} plans=${t.treatments.length}`,
  );
  const reminder = today.treatments.find((t) => t.treatment_id === treatment.id)?.reminders[0];
  if (reminder === undefined) throw new FlowError("today shows no reminder of the new plan");
  step(
    "patient: getTimeline",
    await me.GET("/v1/treatments/{id}/timeline", treatmentPath),
    200,
    (t) => `day=${t.day_number} current_phase=${t.current_phase} phases=${t.phases.length}`,
  );
  const weekEnd = addDays(today.date, 6);
  step(
    "patient: listReminders",
    await me.GET("/v1/treatments/{id}/reminders", {
      params: { path: { id: treatment.id }, query: { from: today.date, to: weekEnd } },
    }),
    200,
    (w) => `${w.items.length} reminders on ${new Set(w.items.map((r) => r.local_date)).size} days ${today.date}..${weekEnd}`,
  );
  step(
    "patient: getCalendar",
    await me.GET("/v1/treatments/{id}/calendar.ics", { ...treatmentPath, parseAs: "text" }),
    200,
    (c) => `${c.split("BEGIN:VEVENT").length - 1} events, ${c.split("BEGIN:VALARM").length - 1} alarms`,
  );

  // Done with one of today's reminders.
  step(
    "patient: acknowledgeReminder",
    await me.POST("/v1/reminders/{id}/ack", { params: { path: { id: reminder.id } } }),
    200,
    (r) => `kind=${r.kind} acknowledged_at=${r.acknowledged_at}`,
  );

  // A check-in sent twice with one Idempotency-Key: the retry gets the first answer again.
  const key = randomUUID();
  const checkInRequest = {
    params: { path: { id: treatment.id }, header: { "Idempotency-Key": key } },
    body: {
      symptoms: {
        redness: 8,
        swelling: 3,
        pain: 2,
        itching: 1,
        peeling: 4,
        bleeding: false,
        pus: false,
        fever: false,
        hives: false,
        darkening: false,
      },
      notes: "Still very red",
    },
  };
  const checkIn = step(
    "patient: createCheckIn",
    await me.POST("/v1/treatments/{id}/check-ins", checkInRequest),
    201,
    (c) => `id=${c.id} level=${c.assessment.level} day=${c.day_number}`,
  );
  const resent = await me.POST("/v1/treatments/{id}/check-ins", checkInRequest);
  const replayed = resent.response.headers.get("Idempotency-Replayed");
  const again = step(
    "patient: createCheckIn (same key)",
    resent,
    201,
    (c) => `id=${c.id} same=${c.id === checkIn.id} Idempotency-Replayed=${replayed}`,
  );
  if (again.id !== checkIn.id || replayed !== "true") {
    throw new FlowError("the retry with the same Idempotency-Key was not answered with the first check-in");
  }
  const checkInPath = { params: { path: { id: checkIn.id } } };

  // A photo taken with the phone, its GPS position in the EXIF: first its record (size, SHA-256,
  // dimensions), then its bytes; the upload verifies them and makes the photo visible to the clinic.
  const jpeg = new Uint8Array(readFileSync(GPS_PHOTO));
  const sent = jpegMetadata(jpeg);
  if (sent.gpsTags === 0) throw new FlowError(`${GPS_PHOTO.pathname} has no GPS position: nothing would be proven`);
  const photo = step(
    "patient: createPhoto",
    await me.POST("/v1/check-ins/{id}/photos", {
      ...checkInPath,
      body: {
        content_type: "image/jpeg",
        byte_size: jpeg.length,
        sha256: createHash("sha256").update(jpeg).digest("hex"),
        width: sent.width,
        height: sent.height,
        captured_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        body_site: "left_cheek",
        view: "front",
      },
    }),
    201,
    (p) => `id=${p.id} state=${p.state} byte_size=${p.byte_size}`,
  );
  const photoPath = { params: { path: { id: photo.id } } };
  // openapi-fetch serializes a body as JSON unless told otherwise: the Blob goes as it is.
  const uploaded = step(
    "patient: uploadPhotoContent",
    await me.PUT("/v1/photos/{id}/content", {
      ...photoPath,
      body: new Blob([jpeg]),
      bodySerializer: (body) => body,
      headers: { "Content-Type": "application/octet-stream" },
    }),
    200,
    (p) => `${jpeg.length} bytes with ${sent.gpsTags} GPS tags sent, state=${p.state}`,
  );
  if (uploaded.state !== "verified") throw new FlowError(`uploadPhotoContent: the photo is ${uploaded.state}, not verified`);

  // The clinician sees the photo, verified, downloads it without its metadata, and finds it in
  // the treatment's comparison by day.
  const seen = step(
    "clinician: getPhoto",
    await clinician.GET("/v1/photos/{id}", photoPath),
    200,
    (p) => `state=${p.state} metadata_removed=${p.metadata_removed}`,
  );
  if (seen.state !== "verified" || !seen.metadata_removed) {
    throw new FlowError("getPhoto: the clinician should see the photo verified, its metadata removed");
  }
  const download = await clinician.GET("/v1/photos/{id}/content", { ...photoPath, parseAs: "arrayBuffer" });
  const headers = download.response.headers;
  const received = new Uint8Array(
    step(
      "clinician: getPhotoContent",
      download,
      200,
      (b) => `${b.byteLength} bytes, ${headers.get("content-type")}, Cache-Control: ${headers.get("cache-control")}`,
    ),
  );
  const kept = jpegMetadata(received);
  console.log(
    `${"  the downloaded JPEG".padEnd(34)} ok   ${kept.width}x${kept.height}, ${kept.gpsTags} GPS tags, ` +
      `${kept.app1Segments} APP1 segments (sent: ${sent.gpsTags}, ${sent.app1Segments})`,
  );
  if (kept.gpsTags !== 0 || kept.app1Segments !== 0 || kept.width !== sent.width || kept.height !== sent.height) {
    throw new FlowError(`getPhotoContent: the clinician's copy keeps metadata, or lost its size: ${JSON.stringify(kept)}`);
  }
  const comparison = step(
    "clinician: comparePhotos",
    await clinician.GET("/v1/treatments/{id}/photo-comparison", {
      params: { path: { id: treatment.id }, query: { body_site: "left_cheek" } },
    }),
    200,
    (c) => c.days.map((d) => `day ${d.day_number}: ${d.photos.length} photo(s)`).join(", ") || "no days",
  );
  if (!comparison.days.some((d) => d.photos.some((p) => p.id === photo.id))) {
    throw new FlowError("comparePhotos: the uploaded photo is not in the comparison");
  }

  // The clinician's queue, then the review.
  const queue = step(
    "clinician: getReviewQueue",
    await clinician.GET("/v1/review-queue"),
    200,
    (q) => `urgent=${q.counts.urgent} watch=${q.counts.watch} ok=${q.counts.ok} items=${q.items.length}`,
  );
  if (!queue.items.some((item) => item.id === checkIn.id)) throw new FlowError("the check-in is not in the review queue");
  step(
    "clinician: reviewCheckIn",
    await clinician.POST("/v1/check-ins/{id}/review", {
      ...checkInPath,
      body: { note: "Called the patient: expected at day 5." },
    }),
    200,
    (c) => `reviewed_at=${c.reviewed_at}`,
  );

  // The app refreshes its tokens, then logs out; the ended login refreshes no more.
  const renewed = step(
    "patient: refreshTokens",
    await publicApi.POST("/v1/auth/refresh", { body: { refresh_token: patientPair.refresh_token } }),
    200,
    (p) => `new pair, expires_in=${p.expires_in}`,
  );
  // The answer was lost on a bad network: the retry with the same token gets the same new one.
  const retried = step(
    "patient: refreshTokens (retried)",
    await publicApi.POST("/v1/auth/refresh", { body: { refresh_token: patientPair.refresh_token } }),
    200,
    (p) => `same refresh token=${p.refresh_token === renewed.refresh_token}`,
  );
  if (retried.refresh_token !== renewed.refresh_token) {
    throw new Error("refreshTokens (retried): a retry must get the same refresh token");
  }
  bare(
    "patient: logOut",
    await signedIn(renewed).POST("/v1/auth/logout", { body: { refresh_token: renewed.refresh_token } }),
    204,
    "login ended",
  );
  bare(
    "patient: refreshTokens (ended)",
    await publicApi.POST("/v1/auth/refresh", { body: { refresh_token: renewed.refresh_token } }),
    401,
    "refused, as it should be",
  );
}

main().catch((error: unknown) => {
  console.error(`FLOW FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

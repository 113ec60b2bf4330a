//! The command line's one-off tasks: creating a clinic, seeding a demo.

use serde_json::json;

use crate::auth::password::hash_blocking;
use crate::auth::tokens::random_token;
use crate::auth::{Caller, Patient, Staff};
use crate::db::{Database, write_transaction};
use crate::domain::credentials::parse_new_password;
use crate::domain::{Area, EmailAddress, PersonName, Procedure, Role, Setting, SkinType};
use crate::error::{AppError, StartupError};
use crate::models::clinics::{self, NewClinic};
use crate::models::patients::{self, NewPatient};
use crate::models::treatments::{self, NewTreatment};
use crate::models::users::{self, NewUser};
use crate::plan::Protocol;

fn invalid(e: impl std::fmt::Display) -> StartupError {
    StartupError::Config(e.to_string())
}

/// `aftercare clinic create`: a clinic and its first administrator, who can log in at once.
pub fn create_clinic(
    db: &Database,
    name: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<serde_json::Value, StartupError> {
    let name = PersonName::parse(name.to_string()).map_err(|e| invalid(format!("--name {e}")))?;
    let email = EmailAddress::parse(admin_email.to_string()).map_err(|e| invalid(format!("--admin-email {e}")))?;
    let password =
        parse_new_password(admin_password.to_string()).map_err(|e| invalid(format!("the admin password {e}")))?;
    let hash = hash_blocking(&password).map_err(invalid)?;
    let mut conn = db.connection()?;
    let new = NewClinic {
        name: name.as_str(),
        admin_name: "Administrator",
        admin_email: email.as_str(),
        admin_password_hash: &hash,
    };
    let (clinic_id, admin) = clinics::create_with_admin(&mut conn, new).map_err(describe)?;
    Ok(json!({ "clinic_id": clinic_id, "admin_id": admin.id }))
}

fn describe(err: AppError) -> StartupError {
    match err {
        AppError::Conflict(message) => StartupError::Config(message),
        other => StartupError::Database(other.to_string()),
    }
}

/// `aftercare demo`: a demo clinic with an administrator, a clinician and a patient, all able to
/// log in with the freshly generated passwords printed here. Longer than 60 lines because it is a
/// script, step after step, in the order a clinic would do them; splitting it would hide the order.
pub fn seed_demo(db: &Database) -> Result<serde_json::Value, StartupError> {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let logins = [
        (Role::Admin, format!("admin-{suffix}@demo.aftercare.test"), "Dana Admin"),
        (Role::Clinician, format!("clinician-{suffix}@demo.aftercare.test"), "Dr. Lee Clinician"),
        (Role::Patient, format!("patient-{suffix}@demo.aftercare.test"), "Sam Patient"),
    ];
    let passwords: Vec<String> = logins.iter().map(|_| random_token()[..16].to_string()).collect();
    let hashes = passwords.iter().map(|p| hash_blocking(p)).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    let mut conn = db.connection()?;
    let clinic_id = write_transaction(&mut conn, |conn| {
        let (clinic_id, _) = clinics::create_with_admin(
            conn,
            NewClinic {
                name: "Demo Clinic",
                admin_name: logins[0].2,
                admin_email: &logins[0].1,
                admin_password_hash: &hashes[0],
            },
        )?;
        let clinician = users::insert(
            conn,
            NewUser {
                clinic_id: &clinic_id,
                role: Role::Clinician,
                email: &logins[1].1,
                name: logins[1].2,
                password_hash: Some(&hashes[1]),
            },
        )?;
        let staff = Staff::try_from(Caller {
            user_id: clinician.id.clone(),
            role: Role::Clinician,
            clinic_id: clinic_id.clone(),
            plan_inputs_version: None,
        })?;
        let new = NewPatient {
            name: PersonName::parse(logins[2].2.to_string()).map_err(AppError::internal)?,
            email: EmailAddress::parse(logins[2].1.clone()).map_err(AppError::internal)?,
            timezone: chrono_tz::America::Chicago,
            skin_type: SkinType::Sensitive,
            fitzpatrick: 4,
            reminder_time: chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            preferred_language: None,
        };
        let (patient, _account) = patients::create(conn, &staff, new)?;
        users::set_password(conn, &patient.id, &hashes[2])?;
        // A treatment four days ago, so the plan shows its second phase at once.
        let today = crate::plan::local_time::local_date(patient.timezone, chrono::Utc::now());
        let treatment = NewTreatment {
            procedure: Procedure::Microneedling,
            treated_on: today - chrono::Duration::days(4),
            setting: Setting::InOffice,
            areas: vec![Area::Face, Area::Neck],
            needle_depth_mm: 1.0,
            notes: Some("Demo treatment: acne scarring on both cheeks.".into()),
        };
        let protocol = Protocol::standard();
        // Screened first, as the gate requires: no contraindication, a history of cold sores (a
        // caution the clinician sees, with its advice).
        let answers = protocol.screening_answers().into_iter().map(|q| (q.to_string(), q == "cold_sores")).collect();
        let screening = crate::models::screenings::create(conn, &staff, &patient.id, &protocol, &answers)?;
        let clearance = crate::models::treatments::Clearance::Screened { screening_id: screening.id };
        let treatment = treatments::create(conn, &staff, &patient.id, treatment, None, &protocol, clearance)?;
        seed_check_ins(conn, &patient.id, &clinic_id, treatment, protocol)?;
        Ok::<_, AppError>(clinic_id)
    })
    .map_err(describe)?;
    let accounts: Vec<_> = logins
        .iter()
        .zip(&passwords)
        .map(|((role, email, name), password)| json!({ "role": role, "name": name, "email": email, "password": password }))
        .collect();
    Ok(json!({ "clinic_id": clinic_id, "logins": accounts }))
}

/// Check-ins of every level on the demo treatment (days 1 to 5), with photos, so the review queue
/// shows something at once.
fn seed_check_ins(
    conn: &mut crate::db::DbConnection,
    patient_id: &str,
    clinic_id: &str,
    treatment: crate::models::treatments::TreatmentRecord,
    protocol: Protocol,
) -> Result<(), AppError> {
    use crate::domain::{BodySite, PhotoType, PhotoView};
    use crate::models::check_ins::{self, NewCheckIn};
    use crate::models::photos::{self, NewPhoto};
    use crate::plan::questions::Answer::{self, Score, YesNo};
    use crate::plan::questions::{Answers, SignKind};
    const YES: Answer = YesNo(true);
    const NO: Answer = YesNo(false);

    let patient = Patient::try_from(Caller {
        user_id: patient_id.to_string(),
        role: Role::Patient,
        clinic_id: clinic_id.to_string(),
        plan_inputs_version: None,
    })?;
    let record = patients::get(conn, &patient, patient_id)?;
    let ctx = crate::models::plans::PlanContext {
        schedules: patients::schedule_history(conn, &record)?,
        patient: record,
        protocol: std::sync::Arc::new(protocol.for_treatment(treatment.treated()).map_err(AppError::internal)?),
        variants: Vec::new(),
        treatment,
    };
    type Reported = &'static [(&'static str, Answer)];
    let days: [(i64, Reported, &str); 5] = [
        (
            0,
            &[("redness", Score(8)), ("swelling", Score(6)), ("pain", Score(4)), ("bleeding", YES)],
            "Red and a few spots of blood right after.",
        ),
        (1, &[("redness", Score(6)), ("swelling", Score(4)), ("pain", Score(3))], "Feels like a sunburn."),
        (2, &[("redness", Score(7)), ("peeling", Score(3))], "Still quite red today."),
        (3, &[("darkening", YES), ("peeling", Score(5))], "A darker patch on my left cheek?"),
        (4, &[("bleeding", YES), ("fever", YES)], "Small bleeding spot and I feel feverish."),
    ];
    for (offset, reported, notes) in days {
        // Every question answered: no for what the day does not report.
        let mut answers: Answers = ctx
            .protocol
            .assessment
            .signs
            .iter()
            .map(|sign| (sign.key.clone(), if sign.kind == SignKind::Score { Score(1) } else { NO }))
            .collect();
        answers.extend(reported.iter().map(|(sign, answer)| (sign.to_string(), *answer)));
        let local_date = ctx.treatment.treated_on + chrono::Duration::days(offset);
        let adherence = [("sunscreen".to_string(), true)].into_iter().collect();
        let notes = Some(notes.to_string());
        let new = NewCheckIn { local_date, answers, unanswered: Vec::new(), adherence, notes, ignored: Vec::new() };
        let check_in = check_ins::create(conn, &patient, &ctx, new)?;
        let photo = NewPhoto {
            content_type: PhotoType::Jpeg,
            byte_size: 1_843_200 + offset * 1024,
            sha256: format!("{:064x}", 0xafc0_0000_u64 + offset as u64),
            width: 3024,
            height: 4032,
            captured_at: local_date.and_hms_opt(12, 0, 0).expect("valid time"),
            body_site: BodySite::LeftCheek,
            view: PhotoView::Front,
        };
        photos::create(conn, &patient, &check_in.id, photo)?;
    }
    Ok(())
}

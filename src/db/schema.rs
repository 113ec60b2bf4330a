// Only types that MultiConnection supports on both backends: Text, Integer, BigInt, Bool,
// Timestamp (UTC, naive), Date, Time. Ids are UUID strings.

diesel::table! {
    clinics (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        clinic_id -> Text,
        role -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        credentials_version -> BigInt,
    }
}

diesel::table! {
    patients (id) {
        id -> Text,
        clinic_id -> Text,
        timezone -> Text,
        skin_type -> Text,
        fitzpatrick -> Integer,
        reminder_time -> Time,
        created_at -> Timestamp,
        discharged_at -> Nullable<Timestamp>,
        discharge_note -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
    }
}

diesel::table! {
    invites (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        purpose -> Text,
        nonce -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        family_id -> Text,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    protocols (id, version) {
        id -> Text,
        version -> Integer,
        title -> Text,
        document -> Text,
        created_at -> Timestamp,
        clinic_id -> Nullable<Text>,
        status -> Text,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    patient_schedules (patient_id, effective_at) {
        patient_id -> Text,
        effective_at -> Timestamp,
        timezone -> Text,
        reminder_time -> Time,
    }
}

diesel::table! {
    treatments (id) {
        id -> Text,
        patient_id -> Text,
        clinic_id -> Text,
        procedure -> Text,
        treated_on -> Date,
        setting -> Text,
        areas -> Text,
        needle_depth_mm -> Double,
        notes -> Nullable<Text>,
        protocol_id -> Text,
        protocol_version -> Integer,
        created_at -> Timestamp,
        discharged_at -> Nullable<Timestamp>,
        skin_type -> Text,
        fitzpatrick -> Integer,
        treatment_time -> Nullable<Time>,
        treated_at -> Nullable<Timestamp>,
        screening_id -> Nullable<Text>,
        screening_override_by -> Nullable<Text>,
        screening_override_at -> Nullable<Timestamp>,
        screening_override_reason -> Nullable<Text>,
    }
}

diesel::table! {
    reminder_acks (reminder_id) {
        reminder_id -> Text,
        treatment_id -> Text,
        local_date -> Date,
        kind -> Text,
        acknowledged_at -> Timestamp,
    }
}

diesel::table! {
    screenings (id) {
        id -> Text,
        patient_id -> Text,
        clinic_id -> Text,
        answers -> Text,
        eligible -> Bool,
        findings -> Text,
        protocol_id -> Text,
        protocol_version -> Integer,
        screened_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    check_ins (id) {
        id -> Text,
        treatment_id -> Text,
        patient_id -> Text,
        clinic_id -> Text,
        local_date -> Date,
        day_number -> Integer,
        phase -> Nullable<Text>,
        redness -> Integer,
        swelling -> Integer,
        pain -> Integer,
        itching -> Integer,
        peeling -> Integer,
        bleeding -> Bool,
        pus -> Bool,
        fever -> Bool,
        hives -> Bool,
        darkening -> Bool,
        adherence -> Text,
        notes -> Nullable<Text>,
        level -> Text,
        level_rank -> Integer,
        reasons -> Text,
        protocol_id -> Text,
        protocol_version -> Integer,
        created_at -> Timestamp,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<Text>,
        review_note -> Nullable<Text>,
        ignored -> Text,
        answers -> Nullable<Text>,
        unanswered -> Text,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        check_in_id -> Text,
        treatment_id -> Text,
        patient_id -> Text,
        clinic_id -> Text,
        content_type -> Text,
        byte_size -> BigInt,
        sha256 -> Text,
        width -> Integer,
        height -> Integer,
        captured_at -> Timestamp,
        body_site -> Text,
        view -> Text,
        created_at -> Timestamp,
        state -> Text,
        object_key -> Nullable<Text>,
        original_key -> Nullable<Text>,
        metadata_removed -> Bool,
        verified_at -> Nullable<Timestamp>,
        renditions -> Text,
        thumbnail_key -> Nullable<Text>,
        display_key -> Nullable<Text>,
        renditions_claimed_at -> Nullable<Timestamp>,
        orientation -> Nullable<Integer>,
        pixel_width -> Nullable<Integer>,
        pixel_height -> Nullable<Integer>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
        invite_user_id -> Nullable<Text>,
        location -> Nullable<Text>,
        calendar_subscription_id -> Nullable<Text>,
    }
}

diesel::table! {
    calendar_subscriptions (treatment_id) {
        treatment_id -> Text,
        id -> Text,
        token_hash -> Text,
        clinic_id -> Text,
        patient_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        user_id -> Nullable<Text>,
        role -> Nullable<Text>,
        clinic_id -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        outcome -> Text,
        status -> Integer,
        request_id -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
        chain_version -> Integer,
    }
}

diesel::table! {
    login_attempts (bucket) {
        bucket -> Text,
        attempts -> BigInt,
        window_start -> Timestamp,
        last_at -> Timestamp,
        prev_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    review_queue_counts (clinic_id, level_rank) {
        clinic_id -> Text,
        level_rank -> Integer,
        unreviewed -> BigInt,
    }
}

diesel::table! {
    plan_inputs_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> Text,
        clinic_id -> Text,
        kind -> Text,
        recipient_user_id -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claim -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    clinic_settings (clinic_id) {
        clinic_id -> Text,
        urgent_alerts_enabled -> Bool,
        urgent_alert_recipients -> Text,
        updated_at -> Timestamp,
        default_treatment_time -> Time,
        screening_valid_days -> Nullable<Integer>,
    }
}

diesel::table! {
    erasure_requests (id) {
        id -> Text,
        clinic_id -> Text,
        patient_id -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        requested_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    password_reset_requests (id) {
        id -> Text,
        email -> Text,
        clinic_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> clinics (clinic_id));
diesel::joinable!(check_ins -> users (patient_id));
diesel::joinable!(photos -> check_ins (check_in_id));
diesel::table! {
    console_sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        credentials_version -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(treatments -> patients (patient_id));
diesel::joinable!(reminder_acks -> treatments (treatment_id));
diesel::joinable!(patients -> users (id));
diesel::joinable!(invites -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(console_sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    clinics,
    users,
    patients,
    invites,
    refresh_tokens,
    protocols,
    patient_schedules,
    treatments,
    reminder_acks,
    screenings,
    check_ins,
    photos,
    idempotency_keys,
    audit_events,
    login_attempts,
    review_queue_counts,
    plan_inputs_version,
    outbox_messages,
    clinic_settings,
    password_reset_requests,
    erasure_requests,
    calendar_subscriptions,
    console_sessions,
);

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
    }
}

diesel::table! {
    invites (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
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

diesel::joinable!(users -> clinics (clinic_id));
diesel::joinable!(patients -> users (id));
diesel::joinable!(invites -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(clinics, users, patients, invites, refresh_tokens);

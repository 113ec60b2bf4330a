//! Clinics: the tenants. Each is created with its first administrator.

use diesel::prelude::*;

use crate::db::schema::clinics;
use crate::db::{DbConnection, write_transaction};
use crate::domain::Role;
use crate::error::AppError;
use crate::models::users::{self, NewUser, User};

pub struct NewClinic<'a> {
    pub name: &'a str,
    pub admin_name: &'a str,
    pub admin_email: &'a str,
    pub admin_password_hash: &'a str,
}

/// Creates a clinic and its administrator; returns `(clinic_id, admin)`.
pub fn create_with_admin(conn: &mut DbConnection, new: NewClinic<'_>) -> Result<(String, User), AppError> {
    write_transaction(conn, |conn| {
        let clinic_id = super::new_id();
        diesel::insert_into(clinics::table)
            .values((
                clinics::id.eq(&clinic_id),
                clinics::name.eq(new.name),
                clinics::created_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        crate::models::check_ins::start_queue_counts(conn, &clinic_id)?;
        let admin = users::insert(
            conn,
            NewUser {
                clinic_id: &clinic_id,
                role: Role::Admin,
                email: new.admin_email,
                name: new.admin_name,
                password_hash: Some(new.admin_password_hash),
            },
        )?;
        Ok((clinic_id, admin))
    })
}

//! Settings › Users (admins): create a user (a generated password shown once, or one given),
//! change a role, reset a password, disable. The same domain calls, audited the same way, as
//! `assetkitd users`.

use maud::{Markup, html};

use crate::domain::users::{Session, UserInfo};

const ROLES: [(&str, &str); 3] = [
    ("viewer", "viewer (reads the inventory)"),
    ("operator", "operator (also edits assets, assigns, imports)"),
    ("admin", "admin (also users, keys, webhooks, settings)"),
];

/// The users table with its forms, and the form that creates one.
pub fn users_section(user: &Session, people: &[UserInfo]) -> Markup {
    let csrf = html! { input type="hidden" name="csrf" value=(user.csrf); };
    html! {
        h2 #users-heading { "Users" }
        table #users {
            thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "Disabled" } th { span.skip { "Actions" } } } }
            tbody { @for u in people {
                tr {
                    td { (u.name) } td { span class={ "badge role-" (u.role) } { (u.role) } } td { (u.created_at) }
                    td { (u.disabled_at.as_deref().unwrap_or("—")) }
                    td {
                        @if u.disabled_at.is_none() && u.name != user.name {
                            form.inline method="post" action="/settings/users/role" {
                                (csrf) input type="hidden" name="name" value=(u.name);
                                label.skip for={ "role-" (u.name) } { "Role of " (u.name) }
                                select id={ "role-" (u.name) } name="role" { @for (value, _) in ROLES {
                                    option value=(value) selected[u.role.as_str() == value] { (value) }
                                } }
                                button.secondary type="submit" { "Set role" }
                            }
                            form.inline method="post" action="/settings/users/password"
                                data-confirm={ "Reset the password of " (u.name) "? Their sessions end." } {
                                (csrf) input type="hidden" name="name" value=(u.name);
                                button.secondary type="submit" { "Reset password" }
                            }
                            form.inline method="post" action="/settings/users/disable"
                                data-confirm={ "Disable " (u.name) "? Their sessions end." } {
                                (csrf) input type="hidden" name="name" value=(u.name);
                                button.danger type="submit" { "Disable" }
                            }
                        } @else if u.name == user.name {
                            span.muted { "you" }
                        }
                    }
                }
            } }
        }
        form.filters #user-add method="post" action="/settings/users" {
            (csrf)
            label for="user-name" { "Login name" input #user-name name="name" required autocomplete="off"; }
            label for="user-role" { "Role" select #user-role name="role" { @for (value, label) in ROLES {
                option value=(value) selected[value == "viewer"] { (label) }
            } } }
            label for="user-password" { "Password (blank: generated)"
                input #user-password name="password" type="password" autocomplete="new-password" minlength="10"; }
            button type="submit" { "Create user" }
        }
        p.muted { "Every change here is in the audit log, as with " code { "assetkitd users" } ". A generated \
            password is shown once. A password reset or a disable ends the user's sessions." }
    }
}

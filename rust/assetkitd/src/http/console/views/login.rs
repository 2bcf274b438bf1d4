//! The login page.

use maud::{Markup, html};

use super::layout::layout;

/// The login page.
pub fn login(csrf: &str, next: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        "",
        html! {
            div.login {
                h1 { "Sign in to assetkit" }
                @if let Some(e) = error { div.panel.flash.error role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="username" { "User name" input #username name="username" autocomplete="username" required autofocus; }
                    label for="password" { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { "Sign in" }
                }
                p.muted { "Accounts are created with " code { "assetkitd users create" } "." }
            }
        },
    )
}

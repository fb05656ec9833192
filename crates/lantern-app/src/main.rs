//! The page of a Lantern demo. Everything lives in the library; this only mounts it.

fn main() {
    leptos::mount::mount_to_body(lantern_app::App);
}

//! What the browser cache holds, the storage estimate, and a way to clear it.

use leptos::prelude::*;

use crate::Ui;
use crate::format;

#[component]
pub fn CachePanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <details class="panel cache" on:toggle=move |_| ui.refresh_cache()>
            <summary data-testid="cache-summary">"Cache"</summary>
            {move || match ui.cache.get() {
                Some((entries, usage, quota)) => view! {
                    <p data-testid="cache-usage">
                        {format!("{} of {} used by this site", format::bytes(usage), format::bytes(quota))}
                    </p>
                    <ul data-testid="cache-entries">
                        {entries.into_iter().map(|e| view! {
                            <li><code>{e.name.chars().take(16).collect::<String>()}</code> " " {format::bytes(e.size)}</li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                None => view! { <p class="muted">"…"</p> }.into_any(),
            }}
            <button data-testid="clear-cache" on:click=move |_| ui.clear_cache()>"Clear cache"</button>
        </details>
    }
}

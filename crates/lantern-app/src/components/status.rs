//! Load button, progress, backend, status, and the error panel with its fixing action.

use lantern_core::protocol::Action;
use leptos::prelude::*;

use crate::format;
use crate::{Phase, Ui};

#[component]
pub fn LoadControls(size: u64) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let percent = move || ui.progress.get().map(|p| p.percent()).unwrap_or(0.0);
    let progress_text = move || match ui.progress.get() {
        Some(p) if p.reused == p.done && p.done > 0 => format!(
            "{} / {} ({:.0} %) from the cache",
            format::bytes(p.done),
            format::bytes(p.total),
            p.percent()
        ),
        Some(p) => format!(
            "{} / {} ({:.0} %) — {}",
            format::bytes(p.done),
            format::bytes(p.total),
            p.percent(),
            p.file
        ),
        None => String::new(),
    };
    let backend = move || match ui.backend.get() {
        Some((name, threads)) => format!("{name} threads={threads}"),
        None => "—".into(),
    };
    view! {
        <div class="load">
            <button
                data-testid="load"
                class="primary"
                on:click=move |_| ui.load()
                disabled=move || ui.phase.get() != Phase::Idle
            >
                {move || match ui.phase.get() {
                    Phase::Idle => format!("Load model ({})", format::bytes(size)),
                    Phase::Loading => "Loading…".to_owned(),
                    Phase::Ready => "Loaded".to_owned(),
                }}
            </button>
            <progress
                data-testid="progress"
                max="100"
                value=move || format!("{:.1}", percent())
                aria-label="Download progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", percent())
            ></progress>
            <span class="muted" aria-live="polite">{progress_text}</span>
            <dl class="inline">
                <dt>"Backend"</dt>
                <dd data-testid="backend">{backend}</dd>
                <dt>"Status"</dt>
                <dd data-testid="status">{move || ui.phase.get().as_str()}</dd>
            </dl>
            {move || {
                ui.gpu_fallback.get().map(|report| {
                    view! {
                        <p class="muted" role="status" data-testid="gpu-fallback">
                            {report.message}
                        </p>
                    }
                })
            }}
        </div>
    }
}

#[component]
pub fn ErrorPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    move || {
        ui.error.get().map(|report| {
            let action = report.action();
            let code = format!("{:?}", report.code);
            let fix = match action {
                Action::Retry => Some(("Retry", Action::Retry)),
                Action::ClearCache => Some(("Clear the cache", Action::ClearCache)),
                Action::UseCpu => Some(("Use the CPU", Action::UseCpu)),
                Action::NewChat => Some(("New chat", Action::NewChat)),
                Action::None => None,
            };
            view! {
                <div class="panel error" role="alert" data-testid="error" data-code=code>
                    <p>{report.message.clone()}</p>
                    {fix.map(|(label, action)| {
                        view! {
                            <button
                                data-testid="error-action"
                                on:click=move |_| {
                                    ui.error.set(None);
                                    match action {
                                        Action::Retry => ui.load(),
                                        Action::ClearCache => ui.clear_cache(),
                                        Action::UseCpu => ui.load_on_cpu(),
                                        Action::NewChat => ui.new_chat(),
                                        Action::None => {}
                                    }
                                }
                            >
                                {label}
                            </button>
                        }
                    })}
                    <button class="quiet" on:click=move |_| ui.error.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

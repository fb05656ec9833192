//! The chat demo: conversation, streamed answer, Stop, New chat, settings, tokens/s.

use lantern_core::Role;
use leptos::prelude::*;

use crate::Ui;

#[component]
pub fn Chat() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let prompt = RwSignal::new(String::new());
    let can_send = move || ui.ready() && ui.generating.get().is_none();
    let submit = move || {
        let text = prompt.get_untracked();
        if !text.trim().is_empty() && can_send() {
            prompt.set(String::new());
            ui.send_prompt(text);
        }
    };
    view! {
        <section class="panel chat" aria-label="Chat">
            <ol class="turns">
                {move || {
                    let turns = ui.turns.get();
                    let latest = turns.iter().rposition(|t| t.role == Role::Assistant);
                    turns
                        .into_iter()
                        .enumerate()
                        .map(|(i, turn)| {
                            let who = match turn.role {
                                Role::User => "user",
                                Role::Assistant => "assistant",
                                Role::System => "system",
                            };
                            // The latest reply is the `output` hook and is announced as it
                            // streams. Model and user text are text nodes: no HTML reaches
                            // the DOM.
                            let is_latest = Some(i) == latest;
                            view! {
                                <li class=who>
                                    <span class="who">{who}</span>
                                    <p
                                        data-testid=is_latest.then_some("output")
                                        aria-live=is_latest.then_some("polite")
                                        data-tokens=move || is_latest.then(|| ui.streamed.get().to_string())
                                    >
                                        {turn.text}
                                    </p>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
            <form
                class="composer"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit();
                }
            >
                <label for="prompt">"Message"</label>
                <textarea
                    id="prompt"
                    data-testid="prompt"
                    rows="3"
                    placeholder="Ask something…"
                    prop:value=move || prompt.get()
                    on:input=move |ev| prompt.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                    disabled=move || !ui.ready()
                ></textarea>
                <div class="buttons">
                    <button type="submit" class="primary" data-testid="send" disabled=move || !can_send()>
                        "Send"
                    </button>
                    <button
                        type="button"
                        data-testid="stop"
                        on:click=move |_| ui.stop()
                        disabled=move || ui.generating.get().is_none()
                    >
                        "Stop"
                    </button>
                    <button type="button" data-testid="new-chat" on:click=move |_| ui.new_chat()>
                        "New chat"
                    </button>
                </div>
            </form>
            <Stats />
            <Settings />
        </section>
    }
}

#[component]
fn Stats() -> impl IntoView {
    let ui = expect_context::<Ui>();
    move || {
        ui.stats.get().map(|s| {
            view! {
                <p
                    class="muted"
                    data-testid="stats"
                    data-prefill-tok-s=format!("{:.2}", s.prefill_tok_s)
                    data-decode-tok-s=format!("{:.2}", s.decode_tok_s)
                    data-generated-tokens=s.generated_tokens.to_string()
                    data-stop-reason=s.stop_reason.clone()
                    data-backend=s.backend.clone()
                >
                    {format!(
                        "{} prompt tokens at {:.1} tok/s, {} new tokens at {:.1} tok/s on {} ({})",
                        s.prompt_tokens,
                        s.prefill_tok_s,
                        s.generated_tokens,
                        s.decode_tok_s,
                        s.backend,
                        s.stop_reason,
                    )}
                </p>
            }
        })
    }
}

#[component]
fn Settings() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let number = |ev: &leptos::ev::Event| event_target_value(ev).parse::<f64>().ok();
    view! {
        <details class="settings">
            <summary>"Settings"</summary>
            <label>
                "System prompt"
                <textarea
                    data-testid="system-prompt"
                    rows="2"
                    prop:value=move || ui.system_prompt.get()
                    on:input=move |ev| ui.system_prompt.set(event_target_value(&ev))
                ></textarea>
            </label>
            <label>
                "Temperature"
                <input
                    type="number" min="0" max="2" step="0.1"
                    data-testid="temperature"
                    prop:value=move || ui.params.get().temperature.to_string()
                    on:change=move |ev| if let Some(v) = number(&ev) {
                        ui.params.update(|p| p.temperature = v.clamp(0.0, 2.0) as f32)
                    }
                />
            </label>
            <label>
                "Top-p"
                <input
                    type="number" min="0" max="1" step="0.05"
                    data-testid="top-p"
                    prop:value=move || ui.params.get().top_p.to_string()
                    on:change=move |ev| if let Some(v) = number(&ev) {
                        ui.params.update(|p| p.top_p = v.clamp(0.0, 1.0) as f32)
                    }
                />
            </label>
            <label>
                "Max new tokens"
                <input
                    type="number" min="1" max="4096" step="1"
                    data-testid="max-tokens"
                    prop:value=move || ui.params.get().max_tokens.to_string()
                    on:change=move |ev| if let Some(v) = number(&ev) {
                        ui.params.update(|p| p.max_tokens = v.clamp(1.0, 4096.0) as usize)
                    }
                />
            </label>
        </details>
    }
}

//! The embeddings demo: sentences in, a coloured similarity matrix, and a semantic search box.

use leptos::prelude::*;

use crate::Ui;
use crate::state::cosine;

#[component]
pub fn Embeddings() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let text = RwSignal::new(ui.sentences.get_untracked().join("\n"));
    let query = RwSignal::new(String::new());
    let lines = move || {
        text.get()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    view! {
        <section class="panel embeddings" aria-label="Sentence similarity">
            <label for="sentences">"Sentences, one per line"</label>
            <textarea
                id="sentences"
                data-testid="sentences"
                rows="6"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                disabled=move || !ui.ready()
            ></textarea>
            <button
                class="primary"
                data-testid="run"
                on:click=move |_| ui.embed_sentences(lines())
                disabled=move || !ui.ready() || ui.embedding.get()
            >
                "Compare"
            </button>
            <Matrix />
            <form
                class="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    ui.search(query.get_untracked());
                }
            >
                <label for="query">"Search the sentences"</label>
                <input
                    id="query"
                    data-testid="query"
                    type="search"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                    disabled=move || ui.vectors.get().is_none()
                />
                <button type="submit" data-testid="search" disabled=move || ui.vectors.get().is_none()>
                    "Search"
                </button>
            </form>
            <Results />
        </section>
    }
}

#[component]
fn Matrix() -> impl IntoView {
    let ui = expect_context::<Ui>();
    move || {
        ui.vectors.get().map(|vectors| {
            let sentences = ui.sentences.get();
            let n = vectors.len();
            view! {
                <div class="matrix">
                    <table data-testid="similarity">
                        <caption>"Cosine similarity"</caption>
                        <thead>
                            <tr>
                                <th scope="col"></th>
                                {(0..n).map(|j| view! { <th scope="col" title=sentences.get(j).cloned()>{j + 1}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {(0..n).map(|i| {
                                let row = (0..n).map(|j| {
                                    let s = cosine(&vectors[i], &vectors[j]);
                                    // Blue for dissimilar, through neutral, to orange for similar.
                                    let hue = 220.0 - 190.0 * s.clamp(0.0, 1.0);
                                    let style = format!("background: hsl({hue:.0} 80% 50% / {:.2})", 0.15 + 0.6 * s.abs());
                                    view! {
                                        <td data-i=i.to_string() data-j=j.to_string() style=style>
                                            {format!("{s:.4}")}
                                        </td>
                                    }
                                }).collect_view();
                                view! {
                                    <tr>
                                        <th scope="row" title=sentences.get(i).cloned()>{format!("{}. {}", i + 1, sentences.get(i).cloned().unwrap_or_default())}</th>
                                        {row}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
        })
    }
}

#[component]
fn Results() -> impl IntoView {
    let ui = expect_context::<Ui>();
    move || {
        ui.hits.get().map(|hits| {
            let sentences = ui.sentences.get();
            view! {
                <ol class="results" data-testid="results" aria-live="polite">
                    {hits.into_iter().map(|h| view! {
                        <li data-index=h.index.to_string() data-score=format!("{:.4}", h.score)>
                            <span class="score">{format!("{:.4}", h.score)}</span>
                            " "
                            {sentences.get(h.index).cloned().unwrap_or_default()}
                        </li>
                    }).collect_view()}
                </ol>
            }
        })
    }
}

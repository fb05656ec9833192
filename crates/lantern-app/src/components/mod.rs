//! The parts of the page. Each reads the [`Ui`] from context.

mod cache;
mod chat;
mod classification;
mod embeddings;
mod speech;
mod status;
mod text2text;
mod vision;

use lantern_core::Task;
use leptos::prelude::*;

use crate::Ui;
use crate::format;

/// Header, model card, load controls, the task's view, and the cache panel.
#[component]
pub fn Demo() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let demo = ui.demo.get_untracked();
    let model = demo.model.clone();
    let size = model.total_size();
    let hub_page = format!(
        "{}/{}{}",
        demo.endpoint.trim_end_matches('/'),
        model.repo_type.url_prefix(),
        model.repo
    );
    let task = demo.task;
    let quantization = demo.quantization.clone().unwrap_or_else(|| "—".into());
    let license = demo
        .license
        .clone()
        .unwrap_or_else(|| "see the model card".into());
    let commit = model.commit.chars().take(12).collect::<String>();
    view! {
        <header class="title">
            <h1>
                <span class="emoji" aria-hidden="true">{demo.emoji.clone()}</span>
                " "
                {demo.title.clone()}
            </h1>
            <p class="muted">{demo.description.clone()}</p>
        </header>
        <section class="panel model" aria-label="Model">
            <dl>
                <dt>"Model"</dt>
                <dd>
                    <a href=hub_page target="_blank" rel="noopener" data-testid="model-link">
                        {model.repo.to_string()}
                    </a>
                    " @ " <code>{commit}</code>
                </dd>
                <dt>"Task"</dt>
                <dd data-testid="task">{task.as_str()}</dd>
                <dt>"Weights"</dt>
                <dd>{quantization}</dd>
                <dt>"License"</dt>
                <dd>{license}</dd>
                <dt>"Download"</dt>
                <dd data-testid="size" data-bytes=size.to_string()>
                    {format::bytes(size)} " in " {model.files.len()} " file(s)"
                </dd>
            </dl>
            <status::LoadControls size=size />
        </section>
        <status::ErrorPanel />
        {match task {
            Task::TextGeneration => view! { <chat::Chat /> }.into_any(),
            Task::FeatureExtraction | Task::SentenceSimilarity => {
                view! { <embeddings::Embeddings /> }.into_any()
            }
            Task::TextClassification => {
                view! { <classification::TextClassification /> }.into_any()
            }
            Task::AutomaticSpeechRecognition => {
                view! { <speech::SpeechRecognition /> }.into_any()
            }
            Task::ImageClassification => view! { <vision::Vision detect=false /> }.into_any(),
            Task::ObjectDetection => view! { <vision::Vision detect=true /> }.into_any(),
            Task::Translation => view! { <text2text::Text2Text summarize=false /> }.into_any(),
            Task::Summarization => view! { <text2text::Text2Text summarize=true /> }.into_any(),
        }}
        <cache::CachePanel />
    }
}

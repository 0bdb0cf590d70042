//! The emulated box: received content, an identity, a clock, the navigator's screen stack, an
//! outbox on disk, and the headend's own layout and drawing code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use render::{Pixmap, RenderError, RenderReport};
use returnpath::{Body, Outbox, OutboxError, SendConfig, SendError, SendReport, Transport};
use screen::LayoutDocument;
use screen::document::Action;
use screen::focus::{Draft, Navigator, Outcome};
use screen::measure::Typeset;
use serde_json::Value;

use crate::content::BoxContent;
use crate::keys::RemoteKey;
use crate::notices::box_data;
use crate::provision::{ProvisionError, Provisioning};

/// How a box is set up besides its content and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxConfig {
    /// The theme the household picked: `standard` or `elders`.
    pub theme: String,
    /// The box's clock, Unix seconds: which notices are in their window, and the `sent_at`
    /// of what it sends.
    pub at: i64,
    /// The outbox log (`returnpath::Outbox`); created if missing, replayed if present.
    pub outbox: PathBuf,
}

/// Why the box could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum BoxError {
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error("the bundle has no theme {theme:?} (it has: {available})")]
    UnknownTheme { theme: String, available: String },
    #[error("the home screen cannot be laid out: {0}")]
    NoHome(String),
    #[error("the outbox: {0}")]
    Outbox(#[from] OutboxError),
    #[error("the embedded font cannot be loaded: {0}")]
    Font(#[from] typeset::TypesetError),
    #[error("drawing the frame failed: {0}")]
    Render(#[from] RenderError),
    #[error("sending: {0}")]
    Send(#[from] SendError),
}

/// A message the box queued because of a key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub seq: u64,
    pub body: Body,
}

/// What one key press did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub key: RemoteKey,
    /// What the navigator did.
    pub outcome: Outcome,
    /// The screen, param and page shown after the key.
    pub screen: String,
    pub param: Option<String>,
    pub page: u32,
    /// The focused element after the key.
    pub focus: Option<String>,
    /// The message the key put in the outbox, if any.
    pub queued: Option<Queued>,
    /// Something the household would be told (a comment with no phrase chosen, ...).
    pub note: Option<String>,
}

type CacheKey = (String, Option<String>, u32);

/// Lays screens out on demand for the navigator, remembering each instance: the data does not
/// change between key presses, so neither do the documents.
struct Layouts<'a> {
    content: &'a BoxContent,
    theme: &'a str,
    data: &'a Value,
    measure: &'a Typeset,
    cache: &'a RefCell<HashMap<CacheKey, Option<LayoutDocument>>>,
}

impl screen::focus::Screens for Layouts<'_> {
    fn document(&self, screen: &str, param: Option<&str>, page: u32) -> Option<LayoutDocument> {
        let key = (screen.to_owned(), param.map(str::to_owned), page);
        if let Some(doc) = self.cache.borrow().get(&key) {
            return doc.clone();
        }
        let doc = self
            .content
            .templates
            .render(screen, param, page, self.theme, self.data, self.measure)
            .document;
        self.cache.borrow_mut().insert(key, doc.clone());
        doc
    }
}

/// An emulated set-top box.
pub struct SetTopBox {
    content: BoxContent,
    identity: Provisioning,
    theme: String,
    clock: i64,
    data: Value,
    nav: Navigator,
    outbox: Outbox,
    measure: Typeset,
    images: HashMap<String, Vec<u8>>,
    cache: RefCell<HashMap<CacheKey, Option<LayoutDocument>>>,
    exited: bool,
}

impl std::fmt::Debug for SetTopBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetTopBox")
            .field("identity", &self.identity)
            .field("theme", &self.theme)
            .field("clock", &self.clock)
            .field("screen", &self.screen())
            .field("focus", &self.focus())
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

impl SetTopBox {
    /// Switches the box on: checks the identity against the content (same community, a grid
    /// of it), opens the outbox, builds the screen data for its grid and clock and shows home.
    pub fn start(
        content: BoxContent,
        identity: Provisioning,
        config: BoxConfig,
    ) -> Result<SetTopBox, BoxError> {
        identity.check_against(content.community, &content.grids)?;
        if content.templates.theme(&config.theme).is_none() {
            return Err(BoxError::UnknownTheme {
                theme: config.theme.chars().take(40).collect(),
                available: content
                    .templates
                    .themes
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let outbox = Outbox::open(
            &config.outbox,
            identity.card_id.clone(),
            identity.card_key.clone(),
        )?;
        let images = content
            .templates
            .assets
            .values()
            .map(|a| (a.sha256.clone(), a.bytes.clone()))
            .collect();
        let data = box_data(&content.cold, &content.notices, identity.grid, config.at);
        let measure = Typeset::new()?;
        let mut stb = SetTopBox {
            content,
            identity,
            theme: config.theme,
            clock: config.at,
            data,
            nav: Navigator::default(),
            outbox,
            measure,
            images,
            cache: RefCell::new(HashMap::new()),
            exited: false,
        };
        stb.go_home()?;
        Ok(stb)
    }

    fn go_home(&mut self) -> Result<(), BoxError> {
        let rendered =
            self.content
                .templates
                .render("home", None, 0, &self.theme, &self.data, &self.measure);
        let home = rendered.document.ok_or_else(|| {
            BoxError::NoHome(
                rendered
                    .findings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        self.nav = Navigator::new(home);
        Ok(())
    }

    /// Sets the clock and rebuilds the screen data for it (notices come and go with their
    /// windows); the box starts again on home, as a real box does when its data changes.
    pub fn set_clock(&mut self, at: i64) -> Result<(), BoxError> {
        self.clock = at;
        self.data = box_data(
            &self.content.cold,
            &self.content.notices,
            self.identity.grid,
            at,
        );
        self.cache.borrow_mut().clear();
        self.go_home()
    }

    /// Handles one key press at the box's clock.
    pub fn press(&mut self, key: RemoteKey) -> Result<Step, BoxError> {
        self.press_at(key, self.clock)
    }

    /// Handles one key press; a message it queues is signed with `sent_at` (Unix seconds).
    pub fn press_at(&mut self, key: RemoteKey, sent_at: i64) -> Result<Step, BoxError> {
        let draft_before = self.nav.draft.clone();
        let layouts = Layouts {
            content: &self.content,
            theme: &self.theme,
            data: &self.data,
            measure: &self.measure,
            cache: &self.cache,
        };
        let outcome = self.nav.press(key.to_nav_key(), &layouts);
        let mut queued = None;
        let mut note = None;
        match &outcome {
            Outcome::Effect(Action::CastVote { topic_id, option }) => {
                let body = Body::Vote {
                    topic_id: *topic_id,
                    option: option.clone(),
                };
                let seq = self.outbox.enqueue(body.clone(), sent_at)?;
                queued = Some(Queued { seq, body });
            }
            Outcome::Effect(Action::SubmitComment { topic_id }) => {
                match comment_text(&draft_before) {
                    Some(text) => {
                        let body = Body::Comment {
                            topic_id: *topic_id,
                            text,
                        };
                        let seq = self.outbox.enqueue(body.clone(), sent_at)?;
                        queued = Some(Queued { seq, body });
                    }
                    None => {
                        // The navigator has opened the receipt; nothing was sent, so go back to
                        // the entry screen and say why.
                        self.nav.press(RemoteKey::Back.to_nav_key(), &layouts);
                        note =
                            Some("nothing sent: choose a phrase first (请先选择一条意见)".into());
                    }
                }
            }
            Outcome::Effect(Action::Exit) => self.exited = true,
            Outcome::Opened {
                screen,
                param: Some(param),
                ..
            } if screen == "notice-detail" => {
                // A read receipt for the grid worker, as the protocol's `notice_seen`.
                if let Ok(notice_id) = param.parse::<i64>() {
                    let body = Body::NoticeSeen { notice_id };
                    let seq = self.outbox.enqueue(body.clone(), sent_at)?;
                    queued = Some(Queued { seq, body });
                }
            }
            _ => {}
        }
        let (screen, param, page) = self.location();
        Ok(Step {
            key,
            outcome,
            screen,
            param,
            page,
            focus: self.focus().map(str::to_owned),
            queued,
            note,
        })
    }

    fn location(&self) -> (String, Option<String>, u32) {
        match self.nav.current() {
            Some(f) => (
                f.document.screen.clone(),
                f.document.param.clone(),
                f.document.page.map(|p| p.index).unwrap_or(0),
            ),
            None => (String::new(), None, 0),
        }
    }

    /// Draws the current screen as the household sees it.
    pub fn frame(&self) -> Result<(Pixmap, RenderReport), BoxError> {
        let Some(current) = self.nav.current() else {
            return Err(BoxError::NoHome("the screen stack is empty".into()));
        };
        let mut typesetter = self.measure.0.borrow_mut();
        Ok(crate::frame::draw(
            &current.document,
            current.focus.as_deref(),
            &self.nav.draft,
            &mut typesetter,
            &self.images,
        )?)
    }

    /// The current frame as PNG bytes.
    pub fn frame_png(&self) -> Result<Vec<u8>, BoxError> {
        let (pixmap, _) = self.frame()?;
        Ok(render::encode_png(&pixmap)?)
    }

    /// Sends everything in the outbox through `transport`, retrying until every message is
    /// acknowledged (wrap in a timeout to bound it; what is not acknowledged stays queued).
    pub async fn deliver<T: Transport + ?Sized>(
        &mut self,
        transport: &T,
        config: &SendConfig,
    ) -> Result<SendReport, BoxError> {
        Ok(returnpath::drain(&mut self.outbox, transport, config).await?)
    }

    /// The screen shown.
    pub fn screen(&self) -> &str {
        self.nav
            .current()
            .map(|f| f.document.screen.as_str())
            .unwrap_or_default()
    }

    /// The current screen's layout document.
    pub fn document(&self) -> Option<&LayoutDocument> {
        self.nav.current().map(|f| &f.document)
    }

    /// The focused element.
    pub fn focus(&self) -> Option<&str> {
        self.nav.focus()
    }

    /// How many screens are on the back stack.
    pub fn depth(&self) -> usize {
        self.nav.depth()
    }

    /// The comment being drafted.
    pub fn draft(&self) -> &Draft {
        &self.nav.draft
    }

    /// The household pressed EXIT: the box leaves the channel.
    pub fn exited(&self) -> bool {
        self.exited
    }

    /// The outbox: pending messages, refusals.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The screen data this box shows (its grid's notices at its clock).
    pub fn data(&self) -> &Value {
        &self.data
    }

    pub fn identity(&self) -> &Provisioning {
        &self.identity
    }

    pub fn content(&self) -> &BoxContent {
        &self.content
    }

    pub fn theme(&self) -> &str {
        &self.theme
    }

    pub fn clock(&self) -> i64 {
        self.clock
    }
}

/// The comment a draft makes: the chosen phrase, then the building and room typed, e.g.
/// `赞成，希望尽快实施（12幢602室）`. `None` without a phrase: a comment needs words.
pub fn comment_text(draft: &Draft) -> Option<String> {
    let phrase = draft.phrase.as_deref().filter(|p| !p.trim().is_empty())?;
    let field = |name: &str| draft.fields.get(name).filter(|v| !v.is_empty());
    let mut place = String::new();
    if let Some(b) = field("building") {
        place.push_str(&format!("{b}幢"));
    }
    if let Some(r) = field("room") {
        place.push_str(&format!("{r}室"));
    }
    Some(if place.is_empty() {
        phrase.to_owned()
    } else {
        format!("{phrase}（{place}）")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_is_the_phrase_and_the_address_typed() {
        let mut d = Draft::default();
        assert_eq!(comment_text(&d), None);
        d.fields.insert("building".into(), "12".into());
        assert_eq!(comment_text(&d), None, "digits alone are no comment");
        d.phrase = Some("赞成，希望尽快实施".into());
        assert_eq!(
            comment_text(&d).as_deref(),
            Some("赞成，希望尽快实施（12幢）")
        );
        d.fields.insert("room".into(), "602".into());
        assert_eq!(
            comment_text(&d).as_deref(),
            Some("赞成，希望尽快实施（12幢602室）")
        );
    }
}

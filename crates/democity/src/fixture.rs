//! The demo city's hand-written material, `fixtures/democity.json`: real district and town
//! names, words for made-up community names, people's names, offices, and topic templates
//! written in Chinese. Read strictly: unknown fields and broken rules are refused with the place
//! and the problem.

use consult::place::check_name;
use consult::room::ParticipantRole;
use consult::topic::Category;
use consult::vote::Ballot;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The fixture compiled into the binary, so that `serve` works from any directory.
pub const BUILTIN: &str = include_str!("../../../fixtures/democity.json");
pub const BUILTIN_NAME: &str = "fixtures/democity.json";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FixtureError {
    #[error("{file}: line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {place}: {message}")]
    Rule {
        file: String,
        place: String,
        message: String,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub city: String,
    pub districts: Vec<DistrictFixture>,
    pub community_words: Vec<String>,
    pub village_words: Vec<String>,
    pub surnames: String,
    pub given_names: Vec<String>,
    pub offices: Offices,
    pub affiliations: BTreeMap<String, Vec<String>>,
    pub session_places: Vec<String>,
    pub topics: Vec<TopicTemplate>,
    pub notices: Vec<NoticeTemplate>,
}

/// A notice grid workers push in many communities; `{building}` is replaced by a building
/// number. It stays up for `hours` after it is pushed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeTemplate {
    pub urgency: consult::notice::Urgency,
    pub title: String,
    pub body: String,
    pub hours: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictFixture {
    pub name: String,
    pub kind: consult::place::DistrictKind,
    pub towns: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offices {
    pub town: Vec<String>,
    pub community: Vec<String>,
    pub village: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub materials: Vec<String>,
}

/// A topic the generator instantiates in many rooms. `{community}` and `{building}` in its texts
/// are replaced by the room's community and a building number.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicTemplate {
    pub category: Category,
    pub title: String,
    pub summary: String,
    /// Named ballot options; the default ballot (赞成/反对/弃权) when absent.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    pub findings: Vec<Finding>,
    pub minutes: String,
    pub consensus: String,
    pub comments: Vec<String>,
    pub progress: Vec<String>,
    pub feedback: String,
}

impl TopicTemplate {
    pub fn ballot(&self) -> Ballot {
        match &self.options {
            Some(options) => {
                Ballot::named(options).unwrap_or_else(|_| Ballot::approve_oppose_abstain())
            }
            None => Ballot::approve_oppose_abstain(),
        }
    }
}

impl Fixture {
    /// The fixture compiled into shangyi.
    pub fn builtin() -> Result<Fixture, FixtureError> {
        Fixture::parse(BUILTIN_NAME, BUILTIN)
    }

    /// Parses and checks a fixture; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Fixture, FixtureError> {
        let fixture: Fixture = serde_json::from_str(text).map_err(|e| FixtureError::Syntax {
            file: file.into(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })?;
        fixture.check(file)?;
        Ok(fixture)
    }

    fn check(&self, file: &str) -> Result<(), FixtureError> {
        let rule = |place: String, message: String| FixtureError::Rule {
            file: file.into(),
            place,
            message,
        };
        check_name("city", &self.city).map_err(|e| rule("city".into(), e.to_string()))?;
        if self.districts.is_empty() {
            return Err(rule(
                "districts".into(),
                "a city needs at least one district".into(),
            ));
        }
        let mut towns_seen = BTreeSet::new();
        let mut town_count = 0;
        for (d, district) in self.districts.iter().enumerate() {
            let place = format!("districts[{d}]");
            check_name("district", &district.name)
                .map_err(|e| rule(place.clone(), e.to_string()))?;
            if district.towns.is_empty() {
                return Err(rule(
                    place,
                    format!("{} has no towns or subdistricts", district.name),
                ));
            }
            for (t, town) in district.towns.iter().enumerate() {
                let place = format!("districts[{d}].towns[{t}]");
                check_name("town", town).map_err(|e| rule(place.clone(), e.to_string()))?;
                if !(town.ends_with('镇') || town.ends_with("街道")) {
                    return Err(rule(
                        place,
                        format!("{town:?} is neither a town (…镇) nor a subdistrict (…街道)"),
                    ));
                }
                if !towns_seen.insert((district.name.clone(), town.clone())) {
                    return Err(rule(
                        place,
                        format!("{town:?} appears twice in {}", district.name),
                    ));
                }
                town_count += 1;
            }
        }
        if town_count >= crate::TOTAL_ROOMS {
            return Err(rule(
                "districts".into(),
                format!("{town_count} towns leave no rooms for communities"),
            ));
        }
        for (name, words, minimum) in [
            ("community_words", &self.community_words, 30),
            ("village_words", &self.village_words, 10),
            ("given_names", &self.given_names, 10),
            ("session_places", &self.session_places, 1),
        ] {
            if words.len() < minimum {
                return Err(rule(
                    name.into(),
                    format!("needs at least {minimum} entries, has {}", words.len()),
                ));
            }
            let unique: BTreeSet<&String> = words.iter().collect();
            if unique.len() != words.len() {
                return Err(rule(name.into(), "has duplicate entries".into()));
            }
            if let Some(i) = words.iter().position(|w| w.trim().is_empty()) {
                return Err(rule(format!("{name}[{i}]"), "is empty".into()));
            }
        }
        if self.surnames.chars().count() < 10 {
            return Err(rule("surnames".into(), "needs at least 10 surnames".into()));
        }
        for (name, offices) in [
            ("offices.town", &self.offices.town),
            ("offices.community", &self.offices.community),
            ("offices.village", &self.offices.village),
        ] {
            if offices.is_empty() {
                return Err(rule(name.into(), "needs at least one office".into()));
            }
        }
        for role in ParticipantRole::ALL {
            match self.affiliations.get(role.as_str()) {
                Some(list) if !list.is_empty() => {}
                _ => {
                    return Err(rule(
                        format!("affiliations.{}", role.as_str()),
                        "needs at least one affiliation".into(),
                    ));
                }
            }
        }
        if let Some(unknown) = self
            .affiliations
            .keys()
            .find(|k| ParticipantRole::parse(k).is_none())
        {
            return Err(rule(
                format!("affiliations.{unknown}"),
                "is not a participant role".into(),
            ));
        }
        for category in Category::ALL {
            if !self.topics.iter().any(|t| t.category == category) {
                return Err(rule(
                    "topics".into(),
                    format!("no template for category {}", category.as_str()),
                ));
            }
        }
        for (i, topic) in self.topics.iter().enumerate() {
            let place = format!("topics[{i}]");
            let long = |field: &str, text: &str, max: usize| -> Result<(), FixtureError> {
                let n = text.trim().chars().count();
                if n == 0 || n > max {
                    return Err(rule(
                        format!("{place}.{field}"),
                        format!("must be 1 to {max} characters, is {n}"),
                    ));
                }
                Ok(())
            };
            long(
                "title",
                &topic
                    .title
                    .replace("{building}", "99")
                    .replace("{community}", ""),
                consult::topic::MAX_TITLE_CHARS,
            )?;
            long("summary", &topic.summary, consult::topic::MAX_SUMMARY_CHARS)?;
            long("minutes", &topic.minutes, consult::topic::MAX_TEXT_CHARS)?;
            long(
                "consensus",
                &topic.consensus,
                consult::topic::MAX_TEXT_CHARS,
            )?;
            long("feedback", &topic.feedback, consult::topic::MAX_TEXT_CHARS)?;
            if let Some(options) = &topic.options {
                Ballot::named(options)
                    .map_err(|e| rule(format!("{place}.options"), e.to_string()))?;
            }
            if topic.findings.is_empty() || topic.comments.is_empty() || topic.progress.is_empty() {
                return Err(rule(
                    place.clone(),
                    "needs at least one finding, comment and progress update".into(),
                ));
            }
            for (c, comment) in topic.comments.iter().enumerate() {
                consult::comment::check_text(comment)
                    .map_err(|e| rule(format!("{place}.comments[{c}]"), e.to_string()))?;
            }
            for (f, finding) in topic.findings.iter().enumerate() {
                long(
                    &format!("findings[{f}].title"),
                    &finding.title,
                    consult::topic::MAX_TITLE_CHARS,
                )?;
                long(
                    &format!("findings[{f}].text"),
                    &finding.text,
                    consult::topic::MAX_TEXT_CHARS,
                )?;
            }
        }
        if self.notices.is_empty() {
            return Err(rule("notices".into(), "needs at least one notice".into()));
        }
        for (i, notice) in self.notices.iter().enumerate() {
            let place = format!("notices[{i}]");
            let title = notice.title.replace("{building}", "99");
            let body = notice.body.replace("{building}", "99");
            for (field, text, max) in [
                ("title", &title, consult::notice::MAX_TITLE_CHARS),
                ("body", &body, consult::notice::MAX_BODY_CHARS),
            ] {
                let n = text.trim().chars().count();
                if n == 0 || n > max {
                    return Err(rule(
                        format!("{place}.{field}"),
                        format!("must be 1 to {max} characters, is {n}"),
                    ));
                }
            }
            if notice.hours == 0
                || i64::from(notice.hours) * 3600 > consult::notice::MAX_VALIDITY_SECONDS
            {
                return Err(rule(
                    format!("{place}.hours"),
                    "must be 1 hour to a year".into(),
                ));
            }
        }
        Ok(())
    }

    pub fn town_count(&self) -> usize {
        self.districts.iter().map(|d| d.towns.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_fixture_is_valid() {
        let fixture = Fixture::builtin();
        assert!(fixture.is_ok(), "{fixture:?}");
    }

    fn broken(edit: impl Fn(&mut serde_json::Value)) -> Result<Fixture, FixtureError> {
        let mut value: serde_json::Value = serde_json::from_str(BUILTIN).unwrap_or_default();
        edit(&mut value);
        Fixture::parse("test.json", &value.to_string())
    }

    #[test]
    fn broken_fixtures_name_the_place_and_the_rule() {
        let err = broken(|v| v["districts"][1]["towns"][0] = "东亭".into())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "test.json: districts[1].towns[0]: \"东亭\" is neither a town (…镇) nor a subdistrict (…街道)"
            )
        );
        let err = broken(|v| v["topics"][1]["options"] = serde_json::json!(["只有一个"]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("test.json: topics[1].options: a ballot has 2 to 6 named options; this one has 1")
        );
        let err = broken(|v| v["surprise"] = 1.into())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `surprise`"), "{err}");
        let err = broken(|v| v["topics"][0]["comments"][0] = "好".repeat(201).into())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "test.json: topics[0].comments[0]: the comment has 201 characters; at most 200 are allowed"
            )
        );
        let err = Fixture::parse("bad.json", "{\"city\": ")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("bad.json: line 1, column 9"), "{err}");
    }
}

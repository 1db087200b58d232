//! The route table: `matchit` for paths, a short vector of methods per path.

use std::sync::Arc;

use http::{HeaderValue, Method};

use super::Route;
use crate::http::request::decode;
use crate::middleware::Pipeline;
use crate::wire::BuildError;

pub(crate) struct Router {
    matcher: matchit::Router<usize>,
    entries: Vec<Entry>,
}

struct Entry {
    template: Arc<str>,
    param_names: Vec<Arc<str>>,
    methods: Vec<(Method, Target)>,
    any: Option<Target>,
    allow: HeaderValue,
}

/// What one method of a route runs, and the body size it accepts (`None`: the app's limit).
struct Target {
    pipeline: Arc<Pipeline>,
    body_limit: Option<usize>,
}

/// What the router found for a method and path.
pub(crate) enum Match<'r> {
    Found {
        pipeline: &'r Arc<Pipeline>,
        body_limit: Option<usize>,
        template: &'r Arc<str>,
        params: Vec<(Arc<str>, String)>,
    },
    MethodNotAllowed {
        allow: &'r HeaderValue,
        template: &'r Arc<str>,
    },
    NotFound,
}

impl Router {
    pub(crate) fn build(routes: Vec<(String, Route)>) -> Result<Self, BuildError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (path, route) in routes {
            let idx = match entries.iter().position(|e| *e.template == *path) {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        template: Arc::from(path.as_str()),
                        param_names: param_names(&path),
                        methods: Vec::new(),
                        any: None,
                        allow: HeaderValue::from_static(""),
                    });
                    entries.len() - 1
                }
            };
            let entry = &mut entries[idx];
            for (method, endpoint) in route.methods {
                let pipeline = Target {
                    pipeline: Pipeline::new(route.middleware.clone(), endpoint),
                    body_limit: route.body_limit,
                };
                match method {
                    None if entry.any.is_some() => {
                        return Err(BuildError::new(format!("{path}: two any-method handlers")))
                    }
                    None => entry.any = Some(pipeline),
                    Some(m) if entry.methods.iter().any(|(x, _)| *x == m) => {
                        return Err(BuildError::new(format!("{path}: two {m} handlers")))
                    }
                    Some(m) => entry.methods.push((m, pipeline)),
                }
            }
        }
        let mut matcher = matchit::Router::new();
        for (i, entry) in entries.iter_mut().enumerate() {
            entry.allow = allow_header(&entry.methods)?;
            matcher
                .insert(entry.template.to_string(), i)
                .map_err(|e| BuildError::new(format!("{}: {e}", entry.template)))?;
        }
        Ok(Router { matcher, entries })
    }

    /// The largest body limit a route sets, if any sets one.
    pub(crate) fn max_body_limit(&self) -> Option<usize> {
        self.entries
            .iter()
            .flat_map(|e| e.methods.iter().map(|(_, t)| t).chain(&e.any))
            .filter_map(|t| t.body_limit)
            .max()
    }

    /// The route for `path`. Its parameters are percent-decoded when `decode_params` (the path is as
    /// the client sent it), taken as they are otherwise (the source decoded the path already,
    /// and a second decode would turn a `%25` that arrived into `%`).
    pub(crate) fn lookup<'r>(
        &'r self,
        method: &Method,
        path: &str,
        decode_params: bool,
    ) -> Match<'r> {
        let Ok(m) = self.matcher.at(path) else {
            return Match::NotFound;
        };
        let entry = &self.entries[*m.value];
        let find = |want: &Method| {
            entry
                .methods
                .iter()
                .find(|(x, _)| x == want)
                .map(|(_, p)| p)
        };
        // `HEAD` falls back to the `GET` handler; the corridor drops the body.
        let found = find(method)
            .or_else(|| {
                (*method == Method::HEAD)
                    .then(|| find(&Method::GET))
                    .flatten()
            })
            .or(entry.any.as_ref());
        let Some(target) = found else {
            return Match::MethodNotAllowed {
                allow: &entry.allow,
                template: &entry.template,
            };
        };
        let params = entry
            .param_names
            .iter()
            .zip(m.params.iter())
            .map(|(name, (_, v))| {
                let v = if decode_params {
                    decode(v.into(), false).0.into_owned()
                } else {
                    v.to_owned()
                };
                (name.clone(), v)
            })
            .collect();
        Match::Found {
            pipeline: &target.pipeline,
            body_limit: target.body_limit,
            template: &entry.template,
            params,
        }
    }
}

/// The `{name}` and `{*name}` parameters of a template, in order.
fn param_names(template: &str) -> Vec<Arc<str>> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(after_brace) = after.strip_prefix('{') {
            // `{{` is an escaped literal brace in matchit.
            rest = after_brace;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        names.push(Arc::from(after[..close].trim_start_matches('*')));
        rest = &after[close + 1..];
    }
    names
}

fn allow_header(methods: &[(Method, Target)]) -> Result<HeaderValue, BuildError> {
    let mut names: Vec<&str> = Vec::new();
    for (m, _) in methods {
        names.push(m.as_str());
        if *m == Method::GET && !methods.iter().any(|(x, _)| *x == Method::HEAD) {
            names.push("HEAD");
        }
    }
    HeaderValue::try_from(names.join(", ")).map_err(|e| BuildError::new(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_names_in_order() {
        let n = param_names("/a/{id}/b/{{literal}}/{*rest}");
        let n: Vec<&str> = n.iter().map(|s| &**s).collect();
        assert_eq!(n, vec!["id", "rest"]);
    }
}

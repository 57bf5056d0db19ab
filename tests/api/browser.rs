//! A browser as the built-in pages see one, over plain HTTP: a cookie jar, forms posted
//! as a browser posts them, redirects read rather than followed. The tests edit what a
//! browser would send (a cookie dropped, a hidden field changed) to check what is refused.

use std::collections::BTreeMap;

use oauth2::reqwest;

use crate::helpers::TestApp;

/// One answer: status, headers, body, and the `Set-Cookie` values.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub set_cookies: Vec<String>,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
            .unwrap_or("")
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        assert_eq!(self.status, 303, "expected a redirect: {self:?}");
        self.header("location")
    }

    /// The value of the form field `name` (hidden fields hold base62 or base64url only,
    /// which HTML escaping leaves alone).
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    /// The `Set-Cookie` of cookie `name`, if this answer set it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// A browser of the test server's HTTP listener.
pub struct Browser {
    base: String,
    pub jar: BTreeMap<String, String>,
    client: reqwest::Client,
}

impl Browser {
    pub fn new(t: &TestApp) -> Browser {
        Browser {
            base: format!("http://{}", t.http_addr),
            jar: BTreeMap::new(),
            client: super::oauth_apps::http(),
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        match path_or_url.starts_with('/') {
            true => format!("{}{path_or_url}", self.base),
            false => path_or_url.to_owned(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = match cookie.is_empty() {
            true => req,
            false => req.header("cookie", cookie.join("; ")),
        };
        let res = req.send().await.expect("the page answers");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().expect("a pair");
            let (k, v) = pair.split_once('=').expect("name=value");
            match c.contains("Max-Age=0") {
                true => self.jar.remove(k),
                false => self.jar.insert(k.to_owned(), v.to_owned()),
            };
        }
        let body = res.text().await.expect("body");
        Page {
            status,
            headers,
            body,
            set_cookies,
        }
    }

    pub async fn get(&mut self, path_or_url: &str) -> Page {
        let req = self.client.get(self.url(path_or_url));
        self.send(req).await
    }

    /// Posts `fields` form-encoded, as a browser submits a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Submits the sign-in form of `page`.
    pub async fn sign_in(
        &mut self,
        page: &Page,
        username: &str,
        password: &str,
        code: &str,
    ) -> Page {
        let (csrf, request) = (page.field("csrf"), page.field("request"));
        self.post(
            "/oauth/ui/sign-in",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("username", username),
                ("password", password),
                ("totp_code", code),
            ],
        )
        .await
    }

    /// Presses Allow or Deny on the consent page `page`.
    pub async fn decide(&mut self, page: &Page, decision: &str) -> Page {
        let (csrf, request) = (page.field("csrf"), page.field("request"));
        self.post(
            "/oauth/ui/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }
}

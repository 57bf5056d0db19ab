//! The authorization code flow in a real browser: Debian's headless Chromium, driven over
//! WebDriver (chromedriver) by fantoccini. It opens a public client's authorize URL, signs
//! in with a password and a TOTP code, allows, and lands on the app's redirect URI (a tiny
//! listener here) with a code the `oauth2` crate exchanges with its PKCE verifier. Both
//! pages are saved as screenshots under `target/tmp/browser_flow/`.
//!
//! Without chromedriver on the PATH (or at `TESSERA_TEST_CHROMEDRIVER`) the test says it
//! is SKIPPED, unless `TESSERA_TEST_BROWSER=required` (as `.ci/run` sets, after installing
//! Chromium), when that is a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse};
use tokio::sync::mpsc;

use super::oauth_apps::{self as apps};
use crate::accounts::{PASSWORD, totp_at};
use crate::helpers::*;

fn chromedriver() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("TESSERA_TEST_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// chromedriver on a port of its own, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(path: &PathBuf) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Until it accepts connections: it reports ready on its port, nothing else to watch.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::task::yield_now().await;
    }
    driver
}

/// The app's redirect URI: a listener that hands each query it receives to the test.
async fn redirect_listener() -> (u16, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |axum::extract::RawQuery(q): axum::extract::RawQuery| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(q.unwrap_or_default());
                "Signed in: the app has its code."
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, rx)
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser_flow");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_signs_in_with_totp_allows_and_the_app_exchanges_its_code() {
    let Some(path) = chromedriver() else {
        let required = std::env::var("TESSERA_TEST_BROWSER").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "TESSERA_TEST_BROWSER=required, but chromedriver is not on the PATH"
        );
        eprintln!(
            "browser test SKIPPED: no chromedriver (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    t.user_with_password("ann", &["editor"]).await;
    let session = t.login("ann", PASSWORD, "").await.expect("login").token;
    let seed = t.turn_on_totp(&session).await;
    let reg = t
        .public_app(
            "Contacts Sync",
            "http://127.0.0.1/callback",
            &["read:contacts", "write:contacts"],
            &["authorization_code", "refresh_token"],
        )
        .await;
    let (port, mut arrivals) = redirect_listener().await;
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let app = t
        .oauth_app(&reg, false)
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = app
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read:contacts".into()))
        .add_scope(Scope::new("write:contacts".into()))
        .set_pkce_challenge(challenge)
        .url();

    let driver = start_driver(&path).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=412,915"],
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    let shots = screenshot_dir();

    browser
        .goto(auth_url.as_str())
        .await
        .expect("open authorize");
    browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("username"))
        .await
        .expect("sign-in page");
    std::fs::write(
        shots.join("sign-in.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("save");
    browser
        .find(Locator::Id("username"))
        .await
        .expect("field")
        .send_keys("ann")
        .await
        .expect("type");
    browser
        .find(Locator::Id("password"))
        .await
        .expect("field")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    // The next step's code: the one of this step was used by turn_on_totp.
    t.clock.advance(Duration::from_secs(30));
    let code = totp_at(&seed, t.now_seconds());
    browser
        .find(Locator::Id("totp_code"))
        .await
        .expect("field")
        .send_keys(&code)
        .await
        .expect("type");
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign in");

    let allow = browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .expect("consent page");
    let page = browser.source().await.expect("source");
    assert!(
        page.contains("Contacts Sync") && page.contains("write:contacts"),
        "{page}"
    );
    std::fs::write(
        shots.join("consent.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("save");
    allow.click().await.expect("allow");

    let query = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
        .await
        .expect("the browser reached the redirect URI")
        .expect("a query");
    let landed = url::Url::parse(&format!("{redirect}?{query}")).expect("url");
    assert_eq!(
        apps::param(&landed, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = apps::param(&landed, "code").expect("a code");
    let shown = browser.current_url().await.expect("url");
    assert!(shown.as_str().starts_with(&redirect), "{shown}");
    browser.close().await.expect("close the browser");

    let tokens = app
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&apps::http())
        .await
        .expect("exchange");
    let access = tokens.access_token().secret().clone();
    assert_allow(&t.check(&access, &["write:contacts"]).await);
    eprintln!("screenshots: {}", shots.display());
}

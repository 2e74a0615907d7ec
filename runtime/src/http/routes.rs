//! Routes from the spec: the generated route enums (`CoreRoute::Rooms`, …)
//! implement [`SpecRoute`], and [`RouteExt`] mounts a `Router` from them, so a
//! route the spec does not declare cannot be mounted; [`not_found`] is the
//! fallback answering the `not_found` role's token (axum's built-in 404 is not
//! seen by `.layer()`; a fallback is).
//!
//! ```
//! use axum::Router;
//! use axum::routing::{get, post};
//! use obspec::http::RouteExt;
//! use obspec_generated::ErrorToken;
//! use obspec_generated::routes::CoreRoute;
//!
//! # async fn create_room() {}
//! # async fn list_rooms() {}
//! # async fn list_events() {}
//! let app: Router = Router::new()
//!     .spec_route(CoreRoute::Rooms, post(create_room).get(list_rooms))
//!     .spec_route(CoreRoute::RoomsRoomIdEvents, get(list_events))
//!     .not_found_fallback::<ErrorToken>();
//! ```

use axum::Router;
use axum::routing::MethodRouter;

use crate::http::error::{ApiError, TokenInfo, TokenRole};

/// A route the spec declares for a component (`components[].routes`),
/// implemented by the generated route enums.
pub trait SpecRoute: Copy + Send + Sync + 'static {
    /// The spec's template, the `route` label value (`/v1/rooms/:room_id`).
    fn template(self) -> &'static str;
    /// The axum 0.8 path (`/v1/rooms/{room_id}`).
    fn axum_path(self) -> &'static str;
}

/// Mounts routes of a `Router` from a generated route enum.
pub trait RouteExt<S>: Sized {
    /// `router.route(route.axum_path(), handler)`.
    #[must_use]
    fn spec_route<R: SpecRoute>(self, route: R, handler: MethodRouter<S>) -> Self;

    /// The fallback answering the `not_found` role's token ([`not_found`]).
    #[must_use]
    fn not_found_fallback<T: TokenInfo>(self) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouteExt<S> for Router<S> {
    fn spec_route<R: SpecRoute>(self, route: R, handler: MethodRouter<S>) -> Self {
        self.route(route.axum_path(), handler)
    }

    fn not_found_fallback<T: TokenInfo>(self) -> Self {
        self.fallback(not_found::<T>)
    }
}

/// The fallback handler: the `not_found` role's token (the observability
/// layer fills in the correlation ID).
pub async fn not_found<T: TokenInfo>() -> ApiError<T> {
    ApiError::new(T::for_role(TokenRole::NotFound))
}

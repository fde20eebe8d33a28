"""What the console's takedown pages show: the posts a case can be opened for, with their active cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from leakmon.errors import InputError, NotFoundError
from leakmon.workflows.incidents import get_incident
from storage.models.cases import TakedownCase
from storage.models.core import Post
from storage.repositories.cases import incident_posts
from storage.repositories.cases_takedown import find_active_case


@dataclass(frozen=True, slots=True)
class PostChoice:
    """A post a takedown case can be opened for, and the open or requested cases already about it."""

    post: Post
    post_case: TakedownCase | None
    channel_case: TakedownCase | None


def posts_to_open(session: Session, *, incident_id: int | None = None, post_id: int | None = None) -> list[PostChoice]:
    """The incident's posts (or the one post), oldest first, each with its active post/channel case."""
    if (incident_id is None) == (post_id is None):
        raise InputError("name one incident or one post")
    if incident_id is not None:
        posts = incident_posts(session, get_incident(session, incident_id).id)
    else:
        post = session.get(Post, post_id)
        if post is None:
            raise NotFoundError(f"post {post_id} does not exist")
        posts = [post]
    return [
        PostChoice(
            post,
            find_active_case(session, scope="post", post_id=post.id, source=post.source),
            find_active_case(session, scope="channel", post_id=post.id, source=post.source),
        )
        for post in posts
    ]

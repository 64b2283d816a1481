"""Operations: sagas of idempotent steps that make the outside world match desired state."""

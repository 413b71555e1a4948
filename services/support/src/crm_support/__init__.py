"""The support service: cases, queues, SLAs, interactions, satisfaction, knowledge base."""

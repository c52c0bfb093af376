"""Raft as a pure state machine (sans-IO): Figure 2 of the Raft paper.

Imports nothing else of the project; sim/ supplies time, network and randomness.
"""
from .messages import (AppendEntries, AppendEntriesReply, Entry, Message, MESSAGE_TYPES,
                       RequestVote, RequestVoteReply)
from .node import CANDIDATE, FOLLOWER, LEADER, Node, Options
from .notes import describe

__all__ = ["AppendEntries", "AppendEntriesReply", "Entry", "Message", "MESSAGE_TYPES", "RequestVote",
           "RequestVoteReply", "CANDIDATE", "FOLLOWER", "LEADER", "Node", "Options", "describe"]
